// The private network: a bridge on the machine (10.203.0.1/24) and one network namespace
// per host joined to it by a veth pair. Nothing is routed or NATed beyond the bridge, so
// hosts reach each other and the machine, and nothing else.
import { BRIDGE, BRIDGE_ADDRESS, BRIDGE_MAC, PREFIX_LEN, hostMacs, netnsName, vethName } from "./config";
import { ok, out, run } from "./exec";

const NETNS_DIR = "/run/netns";

/** bridge-nf-call-iptables is on here, so bridged host-to-host traffic crosses FORWARD. */
const FORWARD_RULE = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"];

export async function linkExists(name: string): Promise<boolean> {
  return ok("ip", ["link", "show", "dev", name]);
}

export async function ensureBridge(): Promise<void> {
  if (!(await linkExists(BRIDGE))) {
    await run("ip", ["link", "add", BRIDGE, "address", BRIDGE_MAC, "type", "bridge"]);
  }
  const addrs = await out("ip", ["-o", "-4", "addr", "show", "dev", BRIDGE]);
  if (!addrs.includes(` ${BRIDGE_ADDRESS}/${PREFIX_LEN} `)) {
    await run("ip", ["addr", "add", `${BRIDGE_ADDRESS}/${PREFIX_LEN}`, "dev", BRIDGE]);
  }
  await run("ip", ["link", "set", BRIDGE, "up"]);
  if (!(await ok("iptables", ["-w", "-C", ...FORWARD_RULE]))) {
    await run("iptables", ["-w", "-I", ...FORWARD_RULE]);
  }
}

export async function removeBridge(): Promise<void> {
  // -D removes one copy per call; loop in case an earlier run inserted it twice.
  while (await ok("iptables", ["-w", "-D", ...FORWARD_RULE])) {
    /* removed one */
  }
  if (await linkExists(BRIDGE)) await run("ip", ["link", "del", BRIDGE]);
}

export async function sandboxNetns(): Promise<string[]> {
  const list = await out("ip", ["netns", "list"], { allowFail: true });
  return list
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => /^dtls-sbx[0-9]+$/.test(n));
}

/** Machine-side links the sandbox created (the bridge and the hosts' veth ends). */
export async function sandboxLinks(): Promise<string[]> {
  const list = await out("ip", ["-o", "link", "show"]);
  return list
    .split("\n")
    .map((l) => /^[0-9]+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n === BRIDGE || /^dtls-sbx[0-9]+$/.test(n));
}

export async function netnsPids(ns: string): Promise<number[]> {
  const res = await run("ip", ["netns", "pids", ns], { allowFail: true });
  return res.stdout.split("\n").filter(Boolean).map(Number);
}

/** Runs a command inside the host's network namespace only (no other namespace changes). */
export function inNetns(ns: string, cmd: string, args: string[]) {
  return run("nsenter", [`--net=${NETNS_DIR}/${ns}`, "--", cmd, ...args]);
}

export async function createHostNetwork(index: number, name: string, address: string): Promise<void> {
  const ns = netnsName(name);
  const veth = vethName(name);
  const mac = hostMacs(index);
  await run("ip", ["netns", "add", ns]);
  await run("ip", ["link", "add", veth, "address", mac.outer, "type", "veth", "peer", "name", "eth0", "address", mac.inner, "netns", ns]);
  await run("ip", ["link", "set", veth, "master", BRIDGE, "up"]);
  await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  await run("ip", ["-n", ns, "addr", "add", `${address}/${PREFIX_LEN}`, "dev", "eth0"]);
  await run("ip", ["-n", ns, "link", "set", "eth0", "up"]);
  // Drop whatever the machine remembers about this address from a previous host.
  await run("ip", ["neigh", "flush", "to", address, "dev", BRIDGE], { allowFail: true });
  // dockerd enables forwarding at start, but nspawn hosts see /proc/sys read-only: set it
  // here so dockerd finds it already on (as it would on a server with forwarding enabled).
  await inNetns(ns, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
}

export async function removeHostNetwork(name: string, address: string): Promise<void> {
  const veth = vethName(name);
  // Deleting one end deletes the pair, at once, even if the namespace lingers.
  if (await linkExists(veth)) await run("ip", ["link", "del", veth]);
  await run("ip", ["netns", "del", netnsName(name)], { allowFail: true });
  await run("ip", ["neigh", "flush", "to", address, "dev", BRIDGE], { allowFail: true });
}
