// A worker process for test/train.test.ts: trains the probe model as one rank of a distributed
// run (mode "rank"), or writes checkpoints in a loop until killed (mode "checkpoints").
import { saveCheckpoint } from '../../src/train/checkpoint';
import { runTraining } from '../../src/train/loop';
import { NativeTrainer } from '../../src/train/native_trainer';
import { resolveSolver } from '../../src/train/solver';
import { PROBE, probeSource } from './train_helpers';

async function main(): Promise<void> {
  const [mode, outDir, ...rest] = process.argv.slice(2);
  if (mode === 'step') {
    // One step on this rank's share of a 4-image batch; prints the parameters and the stop flag.
    const [rank, worldSize, port] = rest.map(Number);
    const trainer = await NativeTrainer.create({ ...PROBE, seed: rank, distributed: { rank, worldSize, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 20000 } });
    // Only rank 0 asks to stop: every rank must see the request.
    const { stop } = await trainer.step(await probeSource(7, rank, 1, 4 / worldSize).batch(0), rank === 0);
    const { tensors } = await trainer.state();
    await trainer.dispose();
    const params = Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('model.')).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
    process.stdout.write(`${JSON.stringify({ params, stop })}\n`);
  } else if (mode === 'loop') {
    const [rank, worldSize, port, iterations, timeoutMs = 20000] = rest.map(Number);
    const solver = resolveSolver({ iterations, imagesPerBatch: 4, lr: 0.05, warmupIters: 0, milestones: [], checkpointEvery: 1000 });
    const result = await runTraining({
      model: 'probe',
      numClasses: 3,
      solver,
      source: (per) => probeSource(7, rank, solver.microBatches, per),
      outDir,
      config: { test: true },
      distributed: { rank, worldSize, masterAddr: '127.0.0.1', masterPort: port, timeoutMs },
      onProgress: (p) => p.iteration === 1 && process.stdout.write('training\n'),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (mode === 'die-or-wait') {
    // Launcher test: rank 1 fails at once, the others would wait forever.
    if (process.env.RANK === '1') process.exit(3);
    setInterval(() => undefined, 1000);
  } else if (mode === 'checkpoints') {
    // ~16 MB per checkpoint so that a kill lands mid-write now and then.
    const big = new Float32Array(4 << 20);
    for (let iteration = 1; ; iteration++) {
      big.fill(iteration);
      await saveCheckpoint(outDir, { state: { iteration, tensors: { 'model.w': { data: big, shape: [big.length] } } }, config: {}, sampler: { iteration } }, 2);
      if (iteration === 1) process.stdout.write('first\n');
    }
  } else {
    throw new Error(`train_worker: unknown mode '${mode}'`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
