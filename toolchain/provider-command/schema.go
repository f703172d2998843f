package main

import "encoding/json"

// schemaJSON describes the package for tools that ask the plugin for it
// (`pulumi package get-schema`, import, convert). `pulumi up` does not need
// it. It lists the same tokens and property names as the published SDK; the
// descriptions are short, this provider's own.
func schemaJSON(version string) string {
	str := map[string]any{"type": "string"}
	secretStr := map[string]any{"type": "string", "secret": true}
	strList := map[string]any{"type": "array", "items": str}
	strMap := map[string]any{"type": "object", "additionalProperties": str}
	boolean := map[string]any{"type": "boolean"}
	ref := func(r string) map[string]any { return map[string]any{"$ref": r} }
	with := func(base map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}

	logging := func(pkg string) map[string]any {
		return map[string]any{
			"type": "string",
			"enum": []any{
				map[string]any{"name": "Stdout", "value": "stdout"},
				map[string]any{"name": "Stderr", "value": "stderr"},
				map[string]any{"name": "StdoutAndStderr", "value": "stdoutAndStderr"},
				map[string]any{"name": "None", "value": "none"},
			},
			"description": "Which output streams are logged (" + pkg + ").",
		}
	}
	connection := func(withProxy bool) map[string]any {
		props := map[string]any{
			"host":               with(str, "description", "The address of the host to connect to."),
			"port":               map[string]any{"type": "number", "default": 22},
			"user":               with(str, "default", "root"),
			"password":           secretStr,
			"privateKey":         secretStr,
			"privateKeyPassword": secretStr,
			"agentSocketPath":    str,
			"hostKey":            with(str, "description", "Expected host key, e.g. \"ssh-ed25519 AAAA...\"; not checked when unset."),
			"dialErrorLimit":     map[string]any{"type": "integer", "default": 10},
			"perDialTimeout":     map[string]any{"type": "integer", "default": 15},
		}
		if withProxy {
			props["proxy"] = ref("#/types/command:remote:ProxyConnection")
		}
		return map[string]any{"type": "object", "properties": props, "required": []string{"host"}}
	}
	commandInputs := func(pkg string) map[string]any {
		return map[string]any{
			"create":                 str,
			"update":                 str,
			"delete":                 str,
			"environment":            strMap,
			"stdin":                  str,
			"triggers":               map[string]any{"type": "array", "items": ref("pulumi.json#/Any"), "replaceOnChanges": true},
			"logging":                ref("#/types/command:" + pkg + ":Logging"),
			"addPreviousOutputInEnv": with(boolean, "default", true),
		}
	}
	merge := func(ms ...map[string]any) map[string]any {
		out := map[string]any{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	outputs := map[string]any{"stdout": str, "stderr": str}
	localExtra := map[string]any{
		"dir": str, "interpreter": strList, "assetPaths": strList, "archivePaths": strList,
	}
	runInputs := merge(localExtra, map[string]any{
		"command": str, "environment": strMap, "stdin": str,
		"logging": ref("#/types/command:local:Logging"), "addPreviousOutputInEnv": with(boolean, "default", true),
	})
	remoteExtra := map[string]any{"connection": with(ref("#/types/command:remote:Connection"), "secret", true)}

	schema := map[string]any{
		"name":        "command",
		"displayName": "Command",
		"version":     version,
		"description": "Run commands locally or over SSH as part of a Pulumi program.",
		"types": map[string]any{
			"command:local:Logging":          logging("local"),
			"command:remote:Logging":         logging("remote"),
			"command:remote:Connection":      connection(true),
			"command:remote:ProxyConnection": connection(false),
		},
		"resources": map[string]any{
			"command:local:Command": map[string]any{
				"inputProperties": merge(commandInputs("local"), localExtra),
				"properties":      merge(commandInputs("local"), localExtra, outputs),
				"required":        []string{"stdout", "stderr"},
			},
			"command:remote:Command": map[string]any{
				"inputProperties": merge(commandInputs("remote"), remoteExtra),
				"requiredInputs":  []string{"connection"},
				"properties":      merge(commandInputs("remote"), remoteExtra, outputs),
				"required":        []string{"connection", "stdout", "stderr"},
			},
		},
		"functions": map[string]any{
			"command:local:run": map[string]any{
				"inputs": map[string]any{
					"type":       "object",
					"properties": runInputs,
					"required":   []string{"command"},
				},
				"outputs": map[string]any{
					"type":       "object",
					"properties": merge(runInputs, outputs),
					"required":   []string{"command", "stdout", "stderr"},
				},
			},
		},
	}
	b, err := json.Marshal(schema)
	if err != nil {
		panic(err) // static data: cannot fail
	}
	return string(b)
}
