// npm run sandbox -- up [--hosts N] [--kind systemd|plain|mixed] | down | status [--json]
import { KindRequest } from "./config";
import { parseArgs } from "./exec";
import { SandboxStatus, down, status, up } from "./lifecycle";

const USAGE = `usage:
  sandbox up [--hosts N] [--kind systemd|plain|mixed]   start hosts sbx1..sbxN (default 2, systemd)
  sandbox down                                          stop and remove every sandbox host
  sandbox status [--json]                               list hosts, SSH commands, docker state
Runs as root on Linux. State: /var/lib/docker-tls-sandbox.`;

interface Args {
  command: string;
  hosts: number;
  kind: KindRequest;
  json: boolean;
}

function cliArgs(argv: string[]): Args {
  const [command = "", ...rest] = argv;
  const args = parseArgs(rest, { flags: ["json"], options: ["hosts", "kind"] });
  return { command, hosts: Number(args.hosts ?? 2), kind: (args.kind ?? "systemd") as KindRequest, json: args.json === true };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The hosts as a table with the SSH command of each (what `up` and `status` print); exported for npm start. */
export function formatStatus(s: SandboxStatus): string {
  if (s.hosts.length === 0) return "no sandbox hosts (start some with: npm run sandbox -- up --hosts 2)";
  const rows = [["NAME", "KIND", "ADDRESS", "DOCKER", "SSH"]];
  for (const h of s.hosts) rows.push([h.name, h.kind, h.address, h.docker, h.running ? h.sshCommand : "(host down)"]);
  return `${table(rows)}\n\nsudo user on every host: deploy (same key). State: ${s.stateDir}`;
}

async function main(): Promise<void> {
  const args = cliArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  switch (args.command) {
    case "up":
      console.log(formatStatus(await up({ hosts: args.hosts, kind: args.kind, log })));
      break;
    case "down":
      await down({ log });
      break;
    case "status": {
      const s = await status();
      if (args.json) console.log(JSON.stringify(s, null, 2));
      else console.log(formatStatus(s));
      break;
    }
    default:
      console.error(USAGE);
      process.exitCode = args.command === "" || args.command === "help" || args.command === "--help" ? 0 : 2;
  }
}

// Only as a command: npm start imports formatStatus through the library (index.ts).
if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`sandbox: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
