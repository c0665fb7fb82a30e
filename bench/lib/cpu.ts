import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every usual Linux). */
const ticksPerSecond = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

const toMs = (ticks: number): number => (ticks * 1000) / ticksPerSecond;

/** CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  // The command name (field 2) may hold spaces: count the fields after its closing parenthesis.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return toMs(Number(fields[11]) + Number(fields[12]));
}

/** The machine's CPU time so far from /proc/stat's first line, in ticks: busy, stolen and all of it. */
export interface CpuTicks {
  /** user, nice, system, irq, softirq */
  busy: number;
  /** time the hypervisor ran something else while this machine had work (0 on bare metal) */
  steal: number;
  total: number;
}

export function cpuTicks(): CpuTicks {
  const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, steal, total: busy + idle + iowait + steal };
}

/** Busy CPU time of the whole machine so far (user, nice, system, irq, softirq), in ms, from /proc/stat. */
export function machineCpuMs(): number {
  return toMs(cpuTicks().busy);
}

/** The share of the machine's CPU time stolen by the hypervisor between two readings (0–1). */
export function stealShare(from: CpuTicks, to: CpuTicks): number {
  const total = to.total - from.total;
  return total > 0 ? (to.steal - from.steal) / total : NaN;
}
