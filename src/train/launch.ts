// Local multi-process launch (what torchrun does for `--nproc-per-node`): N worker processes of
// the same command with RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT set. Rank 0
// keeps the terminal (its progress bar); the others' lines are prefixed with their rank. If one
// worker fails, the others are stopped (SIGTERM, then SIGKILL) and the launch fails naming it.
// If the launcher itself dies (SIGKILL, the OOM killer), its IPC channel closes and the workers
// end too, as under torchrun, instead of holding the rendezvous port and the cores.
import { fork, type ChildProcess } from 'child_process';
import * as readline from 'readline';

export interface LaunchOptions {
  /** The module to run in each worker (e.g. the CLI's main.js) and its arguments. */
  module: string;
  args: string[];
  nprocPerNode: number;
  nnodes: number;
  nodeRank: number;
  masterAddr: string;
  masterPort: number;
}

export const WORKER_ENV = 'IR_RCNN_TRAIN_WORKER';
const KILL_AFTER_MS = 3000;

export async function launchWorkers(o: LaunchOptions): Promise<void> {
  const worldSize = o.nprocPerNode * o.nnodes;
  const children: ChildProcess[] = [];
  let failure: string | undefined;
  const exits = Array.from({ length: o.nprocPerNode }, (_, localRank) => {
    const rank = o.nodeRank * o.nprocPerNode + localRank;
    const env = {
      ...process.env,
      [WORKER_ENV]: '1',
      RANK: String(rank),
      LOCAL_RANK: String(localRank),
      WORLD_SIZE: String(worldSize),
      LOCAL_WORLD_SIZE: String(o.nprocPerNode),
      MASTER_ADDR: o.masterAddr,
      MASTER_PORT: String(o.masterPort),
    };
    const child = fork(o.module, o.args, { env, stdio: rank === 0 ? 'inherit' : ['ignore', 'pipe', 'pipe', 'ipc'] });
    children.push(child);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) readline.createInterface({ input: stream }).on('line', (line) => process.stderr.write(`[rank ${rank}] ${line}\n`));
    }
    return new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        if ((code !== 0 || signal !== null) && failure === undefined) {
          failure = `training worker rank ${rank} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}; stopped the other workers`;
          // SIGTERM first (a worker stops cleanly if it can), SIGKILL for one stuck in a collective.
          for (const other of children) {
            if (other === child || other.exitCode !== null) continue;
            other.kill('SIGTERM');
            setTimeout(() => other.exitCode === null && other.signalCode === null && other.kill('SIGKILL'), KILL_AFTER_MS).unref();
          }
        }
        resolve();
      });
      child.on('error', (error) => {
        failure ??= `training worker rank ${rank} could not start: ${error.message}`;
        resolve();
      });
    });
  });
  await Promise.all(exits);
  if (failure !== undefined) throw new Error(failure);
}

/**
 * In a worker started by launchWorkers: end this process when the launcher's IPC channel closes,
 * which happens however the launcher dies. Checkpoints are written atomically, so the newest
 * complete one survives. The channel is unref'd: it must not keep a finished worker alive.
 */
export function exitWithLauncher(): void {
  if (process.env[WORKER_ENV] === undefined || !process.connected) return;
  process.on('disconnect', () => {
    process.stderr.write(`ir-rcnn: training worker rank ${process.env.RANK}: the launcher is gone; stopping\n`);
    process.exit(1);
  });
  process.channel?.unref();
}
