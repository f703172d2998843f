// Runs the smoke program once through the Automation API (LocalWorkspace).
const { LocalWorkspace } = require("@pulumi/pulumi/automation");

async function main() {
    const workDir = process.argv[2];
    const stack = await LocalWorkspace.createOrSelectStack({ stackName: "auto", workDir });
    await stack.setConfig("greeting", { value: "hey" });
    await stack.setConfig("token", { value: "auto-token", secret: true });
    const up = await stack.up({ onOutput: (s) => process.stdout.write(s) });
    console.log(`automation: up ${up.summary.result}, echoLength=${up.outputs.echoLength.value}, ` +
        `tokenOut secret=${up.outputs.tokenOut.secret}`);
    const preview = await stack.preview();
    console.log(`automation: preview ${JSON.stringify(preview.changeSummary)}`);
    const destroy = await stack.destroy();
    console.log(`automation: destroy ${destroy.summary.result}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
