// Smoke-test program for pulumi-language-nodejs: config, secrets, logging,
// stack outputs and a dynamic-provider resource; SMOKE_FAIL=throw|exit makes it fail.
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const greeting = config.require("greeting");
const token = config.requireSecret("token");

pulumi.log.info(`smoke: greeting is ${greeting}`);
console.log("smoke: hello from console.log");
// Show what the language host passed: Pulumi.yaml's nodeargs and the secret keys.
console.log(`smoke: execArgv=${process.execArgv.join(" ")}`);
console.log(`smoke: secretKeys=${process.env.PULUMI_CONFIG_SECRET_KEYS}`);

if (process.env.SMOKE_FAIL === "throw") {
    throw new Error("smoke: deliberate failure");
}
if (process.env.SMOKE_FAIL === "exit") {
    process.exit(3);
}

const echoProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs) {
        return { id: `echo-${inputs.text}`, outs: { text: inputs.text, length: inputs.text.length } };
    },
};

class Echo extends pulumi.dynamic.Resource {
    // `declare`: a plain ES2022 class field would overwrite the output with undefined.
    declare public readonly length: pulumi.Output<number>;
    constructor(name: string, text: string) {
        super(echoProvider, name, { text, length: undefined }, {});
    }
}

const echo = new Echo("echo", greeting);

export const greetingOut = greeting;
export const echoLength = echo.length;
export const tokenOut = token;
