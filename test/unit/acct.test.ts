/** scripts/lib/acct.ts: acct(5) version-3 records, the tree below a process, CPU by kind of process. */
import { AcctRecord, cpuByKind, descendants, parseAcct } from "../../scripts/lib/acct";

/** A version-3 record as the kernel writes it (little-endian, 64 bytes). */
function record(pid: number, ppid: number, comm: string, utimeTicks: number, stimeTicks: number): Buffer {
  const b = Buffer.alloc(64);
  b[1] = 3;
  b.writeUInt32LE(pid, 16);
  b.writeUInt32LE(ppid, 20);
  b.writeUInt16LE(utimeTicks, 32);
  b.writeUInt16LE(stimeTicks, 34);
  b.write(comm.slice(0, 15), 48, "latin1");
  return b;
}

test("records: pid, parent, the 15-character name, user+system time from comp_t ticks (100 a second)", () => {
  // comp_t: 13-bit mantissa, exponent (base 8) in the top 3 bits: 0x2001 is 1 << 3 = 8 ticks.
  const buf = Buffer.concat([record(10, 1, "pulumi-resource-docker", 150, 0x2001), record(11, 10, "node", 5, 0)]);
  const version2 = record(12, 1, "old", 1, 1);
  version2[1] = 2;
  expect(parseAcct(Buffer.concat([buf, version2]))).toEqual([
    { pid: 10, ppid: 1, comm: "pulumi-resource", cpuS: 1.58 },
    { pid: 11, ppid: 10, comm: "node", cpuS: 0.05 },
  ]);
});

test("only the command's own tree counts, and each process by what it is", () => {
  const r = (pid: number, ppid: number, comm: string, cpuS: number): AcctRecord => ({ pid, ppid, comm, cpuS });
  // In exit order: children before parents; a host's dockerd (another tree) in between.
  const records = [
    r(104, 103, "node", 2.5), // the program, under the language host
    r(106, 105, "node", 0.5), // the dynamic provider, under its plugin launcher
    r(900, 1, "dockerd", 3),
    r(103, 100, "pulumi-language-nodejs", 0.25),
    r(105, 100, "pulumi-resource-pulumi-nodejs", 0.1),
    r(107, 100, "pulumi-resource-tls", 0.2),
    r(108, 100, "npm", 0.15),
    r(100, 50, "pulumi", 4),
  ];
  const tree = descendants(records, 100);
  expect(tree.map((x) => x.pid).sort()).toEqual([100, 103, 104, 105, 106, 107, 108]);
  expect(cpuByKind(tree)).toEqual({
    engine: 4,
    "language host": 0.25,
    program: 2.5,
    plugins: 0.3,
    "node under plugins": 0.5,
    other: 0.15,
  });
});
