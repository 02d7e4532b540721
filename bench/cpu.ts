/**
 * Where the CPU went during a phase (Linux /proc only; elsewhere nothing is reported): the machine as a
 * whole, each process this bench started (and their descendants, such as the Temporal dev server),
 * and every PostgreSQL and Redis process on the machine — which include other users' work, so they
 * are labelled as machine-wide. A benchmark on a small shared machine means little without this.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux this runs on; /proc reports times in these ticks. */
const ticksPerSecond = 100;

interface ProcessSample {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

export interface CpuSnapshot {
  at: number;
  machineTotal: number;
  machineIdle: number;
  cores: number;
  processes: Map<number, ProcessSample>;
}

export interface CpuShare {
  label: string;
  /** Percent of one core. */
  percentOfCore: number;
}

export interface CpuReport {
  seconds: number;
  cores: number;
  machineBusyPercent: number;
  /** 1-minute load average at the end. */
  loadAverage: number;
  shares: CpuShare[];
}

export const cpuSamplingAvailable = existsSync('/proc/stat');

function readProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces: fields after the last ')' are space-separated.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // After comm: state(0) ppid(1) … utime(11) stime(12).
    return { pid, ppid: Number(fields[1]), comm, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

export function cpuSnapshot(): CpuSnapshot | undefined {
  if (!cpuSamplingAvailable) return undefined;
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const total = lines[0]!.trim().split(/\s+/).slice(1).map(Number);
  const cores = lines.filter((line) => /^cpu\d/.test(line)).length;
  const processes = new Map<number, ProcessSample>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const sample = readProcess(Number(entry));
    if (sample) processes.set(sample.pid, sample);
  }
  return {
    at: performance.now(),
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    machineTotal: total.slice(0, 8).reduce((sum, value) => sum + value, 0),
    machineIdle: (total[3] ?? 0) + (total[4] ?? 0),
    cores,
    processes,
  };
}

/**
 * CPU used between two snapshots. `named` maps the pids this bench started to a label; their
 * descendants count under their own command name.
 */
export function cpuBetween(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined, named: Map<number, string>): CpuReport | undefined {
  if (!before || !after) return undefined;
  const seconds = (after.at - before.at) / 1000;
  const used = (sample: ProcessSample) => sample.ticks - (before.processes.get(sample.pid)?.ticks ?? 0);
  const percent = (ticks: number) => (ticks / ticksPerSecond / seconds) * 100;

  const descendantsOf = (root: number) => {
    const found: ProcessSample[] = [];
    const queue = [root];
    while (queue.length > 0) {
      const parent = queue.pop()!;
      for (const sample of after.processes.values()) {
        if (sample.ppid === parent) {
          found.push(sample);
          queue.push(sample.pid);
        }
      }
    }
    return found;
  };

  const shares = new Map<string, number>();
  const counted = new Set<number>();
  const add = (label: string, sample: ProcessSample) => {
    if (counted.has(sample.pid)) return;
    counted.add(sample.pid);
    shares.set(label, (shares.get(label) ?? 0) + used(sample));
  };
  const self = after.processes.get(process.pid);
  if (self) add('bench client (this process)', self);
  for (const [pid, label] of named) {
    const sample = after.processes.get(pid);
    if (sample) add(label, sample);
  }
  for (const sample of descendantsOf(process.pid)) add(named.get(sample.pid) ?? sample.comm, sample);
  for (const sample of after.processes.values()) {
    if (sample.comm === 'postgres') add('postgres (every database on the machine)', sample);
    else if (sample.comm === 'redis-server') add('redis (machine-wide)', sample);
  }
  const busyTicks = after.machineTotal - before.machineTotal - (after.machineIdle - before.machineIdle);
  const listed = [...shares.values()].reduce((sum, value) => sum + value, 0);
  shares.set('everything else on the machine', Math.max(0, busyTicks - listed));

  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  return {
    seconds,
    cores: after.cores,
    machineBusyPercent: (busyTicks / Math.max(1, after.machineTotal - before.machineTotal)) * 100,
    loadAverage: load,
    shares: [...shares.entries()].map(([label, ticks]) => ({ label, percentOfCore: percent(ticks) })).sort((a, b) => b.percentOfCore - a.percentOfCore),
  };
}

export function formatCpu(report: CpuReport | undefined): string[] {
  if (!report) return ['(CPU breakdown needs Linux /proc)'];
  return [
    `CPU over ${report.seconds.toFixed(0)} s: machine ${report.machineBusyPercent.toFixed(0)}% busy of ${report.cores} cores, load average ${report.loadAverage.toFixed(2)}`,
    ...report.shares.filter((share) => share.percentOfCore >= 0.5).map((share) => `  ${share.label.padEnd(44)} ${share.percentOfCore.toFixed(0).padStart(4)}% of a core`),
  ];
}
