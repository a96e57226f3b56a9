// The training machinery on the probe model (milliseconds a step): schedule, loss going down,
// checkpoints, resume equivalence, crash-safe checkpoint writes, NaN stop, abort, and two-process
// c10d/Gloo training on 127.0.0.1.
import { strict as assert } from 'assert';
import { fork } from 'child_process';
import { promises as fsp, readFileSync } from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { resolveConfig, type Config } from '../../src/config';
import { generateSyntheticDataset, type SyntheticDataset } from '../../src/data/synthetic';
import { Detector } from '../../src/detector';
import { isIrRcnnError } from '../../src/errors';
import { latestCheckpoint, listCheckpoints } from '../../src/train/checkpoint';
import { launchWorkers } from '../../src/train/launch';
import { runTraining, type LoopOptions } from '../../src/train/loop';
import { NativeTrainer, distributedAvailable } from '../../src/train/native_trainer';
import { resolveSolver, type SolverInput } from '../../src/train/solver';
import { train } from '../../src/train/train';
import { readSafetensors } from '../../src/weights/safetensors';
import { PROBE, probeSource } from '../support/train_helpers';
import { CLI, DIST } from '../support/paths';

const WORKER = path.join(DIST, 'test', 'support', 'train_worker.js');

/** The small ResNet-18 preset at 96 px, 2 images a batch: a detector step in well under a second. */
function tinyConfig(preset: string, iterations: number): Config {
  return resolveConfig(preset, {
    model: { minSize: 96, maxSize: 96 },
    train: { iterations, imagesPerBatch: 2, lr: 0.01, warmupIters: 0, milestones: [], checkpointEvery: 1000, seed: 1 },
    data: { prefetch: 2 },
  });
}

async function lossesOf(outDir: string): Promise<number[]> {
  const lines = (await fsp.readFile(path.join(outDir, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  return lines.map((l) => JSON.parse(l) as { losses?: { loss: number } }).filter((r) => r.losses).map((r) => r.losses?.loss as number);
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ir-rcnn-train-'));
  tempDirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(tempDirs.map((dir) => fsp.rm(dir, { recursive: true, force: true })));
});

function probeLoop(outDir: string, solver: SolverInput, extra: Partial<LoopOptions> = {}): Promise<ReturnType<typeof runTraining> extends Promise<infer R> ? R : never> {
  const resolved = resolveSolver({ imagesPerBatch: 4, lr: 0.05, warmupIters: 0, milestones: [], ...solver });
  return runTraining({
    model: 'probe',
    numClasses: 3,
    solver: resolved,
    source: (per) => probeSource(7, 0, resolved.microBatches, per),
    outDir,
    config: { test: true },
    ...extra,
  });
}

async function weights(file: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(file);
  return new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  let max = 0;
  for (const [k, x] of a) x.forEach((v, i) => (max = Math.max(max, Math.abs(v - (b.get(k) as Float32Array)[i]))));
  return max;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Runs the worker; resolves with its stdout, rejects with its stderr on failure. */
function worker(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

describe('train: native trainer (probe model)', () => {
  it('follows WarmupMultiStepLR: linear warm-up from warmupFactor, ×gamma at each milestone', async () => {
    const trainer = await NativeTrainer.create({ ...PROBE, lr: 0.1, warmupFactor: 0.25, warmupIters: 4, milestones: [3, 6], gamma: 0.5 });
    const lrs: number[] = [];
    const source = probeSource(1, 0, 1, 2);
    for (let i = 0; i < 8; i++) lrs.push((await trainer.step(await source.batch(i))).lr);
    await trainer.dispose();
    const expected = [0, 1, 2, 3, 4, 5, 6, 7].map((it) => {
      const warm = it < 4 ? 0.25 * (1 - it / 4) + it / 4 : 1;
      return 0.1 * warm * 0.5 ** [3, 6].filter((m) => m <= it).length;
    });
    lrs.forEach((lr, i) => assert.ok(Math.abs(lr - expected[i]) < 1e-12, `iteration ${i}: lr ${lr}, expected ${expected[i]}`));
  });

  it('the loss falls over a few dozen iterations', async () => {
    const trainer = await NativeTrainer.create({ ...PROBE, seed: 3 });
    const source = probeSource(3, 0, 1, 4);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) losses.push((await trainer.step(await source.batch(i))).losses.loss);
    await trainer.dispose();
    assert.ok(mean(losses.slice(-5)) < 0.6 * mean(losses.slice(0, 5)), `first ${losses.slice(0, 5)}, last ${losses.slice(-5)}`);
  });

  it('gradient accumulation over 2 micro-batches equals one batch of both', async () => {
    const one = await NativeTrainer.create(PROBE);
    const two = await NativeTrainer.create(PROBE);
    for (let i = 0; i < 3; i++) {
      await one.step(await probeSource(5, 0, 1, 4).batch(i));
      await two.step(await probeSource(5, 0, 2, 2).batch(i));
    }
    const a = (await one.state()).tensors;
    const b = (await two.state()).tensors;
    await Promise.all([one.dispose(), two.dispose()]);
    for (const key of Object.keys(a)) {
      if (key === 'rng.cpu') continue;
      (a[key].data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - (b[key].data as Float32Array)[i]) < 1e-6, key));
    }
  });

  it('clips the global gradient norm', async () => {
    const trainer = await NativeTrainer.create({ ...PROBE, momentum: 0, weightDecay: 0, lr: 1, warmupIters: 0, clipGradNorm: 1e-3 });
    const before = (await trainer.state()).tensors;
    await trainer.step(await probeSource(2, 0, 1, 4).batch(0));
    const after = (await trainer.state()).tensors;
    await trainer.dispose();
    let squared = 0;
    for (const key of Object.keys(before).filter((k) => k.startsWith('model.'))) {
      (after[key].data as Float32Array).forEach((v, i) => (squared += (v - (before[key].data as Float32Array)[i]) ** 2));
    }
    assert.ok(Math.abs(Math.sqrt(squared) - 1e-3) < 1e-5, `update norm ${Math.sqrt(squared)}`);
  });

  it('rejects a bad batch with a message naming the record', async () => {
    const trainer = await NativeTrainer.create(PROBE);
    const [batch] = await probeSource(1, 0, 1, 1).batch(0);
    batch.targets[0].labels = new Int32Array([0]);
    const invalid = (pattern: RegExp) => (e: unknown) => isIrRcnnError(e, 'ERR_INVALID_ARGUMENT') && pattern.test(e.message);
    await assert.rejects(trainer.step([batch]), invalid(/^step\.batch\[0\]\.targets\[0\]\.labels: expected class indices >= 1/));
    batch.targets[0].labels = new Int32Array([1]);
    batch.targets[0].boxes = new Float32Array([0, 0, NaN, 1]);
    await assert.rejects(trainer.step([batch]), invalid(/^step\.batch\[0\]\.targets\[0\]\.boxes: contains NaN or Inf$/));
    await trainer.dispose();
    await assert.rejects(trainer.step([batch]), (e: unknown) => isIrRcnnError(e, 'ERR_DISPOSED') && e.message === 'trainer: used after dispose()');
    await trainer.dispose(); // twice is harmless
  });
});

describe('train: loop, checkpoints and resume', () => {
  it('N steps + resume + M steps == N+M uninterrupted steps', async () => {
    const [a, b] = [await tempDir(), await tempDir()];
    const straight = await probeLoop(a, { iterations: 7, checkpointEvery: 3 });
    assert.equal(straight.iteration, 7);
    await probeLoop(b, { iterations: 4, checkpointEvery: 3 }); // checkpoints at 3 and 4
    const resumed = await probeLoop(b, { iterations: 7, checkpointEvery: 3 }, { resume: true });
    assert.equal(resumed.iteration, 7);
    assert.equal(maxDiff(await weights(straight.weights as string), await weights(resumed.weights as string)), 0);
    const metrics = (await fsp.readFile(path.join(b, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).iteration);
    assert.deepEqual(metrics, [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual((await listCheckpoints(path.join(b, 'checkpoints'))).map((f) => path.basename(f)), [
      'checkpoint_00000007.safetensors',
      'checkpoint_00000006.safetensors',
      'checkpoint_00000004.safetensors',
    ]);
    await fsp.access(path.join(b, 'loss_curves.png'));
  });

  it('stops on a NaN/Inf loss naming the iteration and keeps the last good checkpoint', async () => {
    const dir = await tempDir();
    await assert.rejects(
      probeLoop(dir, { iterations: 50, checkpointEvery: 1, lr: 1e30, momentum: 0 }),
      /non-finite loss at iteration (\d+) .*the last good checkpoint is .*checkpoint_\d{8}\.safetensors/,
    );
    const last = await latestCheckpoint(path.join(dir, 'checkpoints'));
    assert.ok(last && last.state.iteration >= 1);
  });

  it('an AbortSignal stops cleanly after writing a checkpoint', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    const result = await probeLoop(dir, { iterations: 100, checkpointEvery: 50 }, {
      signal: controller.signal,
      onProgress: (p) => p.iteration === 3 && controller.abort(),
    });
    // The step in flight when the signal came (iteration 4) completes, then the run stops.
    assert.equal(result.aborted, true);
    assert.equal(result.iteration, 4);
    assert.equal((await latestCheckpoint(path.join(dir, 'checkpoints')))?.state.iteration, 4);
  });

  it('killing the process while a checkpoint is written leaves the previous one readable', async () => {
    const dir = await tempDir();
    for (const delay of [30, 75, 140]) {
      const child = fork(WORKER, ['checkpoints', dir], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
      await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const last = await latestCheckpoint(dir);
      assert.ok(last, 'a checkpoint survives');
      const w = last.state.tensors['model.w'].data as Float32Array;
      assert.ok(w.every((v) => v === last.state.iteration), 'its contents are whole');
    }
  });
});

describe('train: two processes on c10d/Gloo', function () {
  before(function () {
    if (!distributedAvailable()) this.skip();
  });

  it('after a step the ranks hold identical parameters, equal to one process taking the global batch; a stop request reaches every rank', async () => {
    const port = await freePort();
    const [r0, r1, single] = await Promise.all([
      worker(['step', '-', '0', '2', String(port)]),
      worker(['step', '-', '1', '2', String(port)]),
      worker(['step', '-', '0', '1', '0']),
    ]);
    const parse = (text: string): Map<string, Float32Array> =>
      new Map(Object.entries((JSON.parse(text) as { params: Record<string, number[]> }).params).map(([k, v]) => [k, Float32Array.from(v)]));
    assert.equal(maxDiff(parse(r0), parse(r1)), 0);
    assert.ok(maxDiff(parse(r0), parse(single)) < 1e-5);
    // Rank 0 asked to stop; rank 1 learns it from the same allreduce.
    assert.deepEqual([r0, r1].map((text) => JSON.parse(text).stop), [true, true]);
  });

  it('the training loop on 2 ranks matches 1 process (rank 0 writes the weights)', async () => {
    const port = await freePort();
    const [two, one] = [await tempDir(), await tempDir()];
    await Promise.all([worker(['loop', two, '0', '2', String(port), '3']), worker(['loop', two, '1', '2', String(port), '3'])]);
    await worker(['loop', one, '0', '1', '0', '3']);
    assert.ok(maxDiff(await weights(path.join(two, 'model.safetensors')), await weights(path.join(one, 'model.safetensors'))) < 1e-5);
  });

  it('when a rank dies mid-training the other fails with a clear error instead of hanging', async () => {
    const port = await freePort();
    const dir = await tempDir();
    const survivor = worker(['loop', dir, '0', '2', String(port), '1000000', '5000']);
    const victim = fork(WORKER, ['loop', dir, '1', '2', String(port), '1000000', '5000'], { stdio: ['ignore', 'pipe', 'ignore', 'ipc'] });
    await new Promise<void>((resolve) => victim.stdout?.once('data', () => resolve()));
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await assert.rejects(survivor, /distributed allreduce failed at 127\.0\.0\.1:\d+ \(rank 0 of 2\) \(a peer stopped or is unreachable\)/);
    assert.ok(Date.now() - killedAt < 15000, `took ${Date.now() - killedAt} ms`);
  });

  it('a rank that cannot reach the master fails with a clear error within the timeout', async () => {
    const port = await freePort(); // nobody listens there
    const started = Date.now();
    await assert.rejects(
      NativeTrainer.create({ ...PROBE, distributed: { rank: 1, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 1500 } }),
      (e: unknown) => isIrRcnnError(e, 'ERR_DISTRIBUTED') && /^distributed rendezvous at 127\.0\.0\.1:\d+ \(rank 1 of 2\) failed within 1\.5 s/.test(e.message),
    );
    assert.ok(Date.now() - started < 10000);
  });
});

describe('train: the detector on a generated COCO-format set', function () {
  let data: SyntheticDataset;
  before(async () => {
    data = await generateSyntheticDataset({ out: await tempDir(), images: 8, valImages: 2, size: 96, seed: 3 });
  });

  for (const preset of ['faster_rcnn_r18_fpn_small', 'ir_rcnn_r18_fpn_small']) {
    it(`${preset} trains: the loss falls over 20 iterations`, async () => {
      const outDir = await tempDir();
      const result = await train({ config: tinyConfig(preset, 20), data: { annotations: data.trainAnnotations, images: data.trainImages }, outDir });
      assert.equal(result.iteration, 20);
      const losses = await lossesOf(outDir);
      assert.equal(losses.length, 20);
      assert.ok(mean(losses.slice(-5)) < 0.85 * mean(losses.slice(0, 5)), `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
      // The small IR preset trains without the auxiliary loss (auxLossWeight 0): reported, and 0.
      if (preset.startsWith('ir_')) assert.equal(result.losses.loss_relation, 0);
      // The final weights load into a Detector of the same config.
      const detector = await Detector.load({ config: tinyConfig(preset, 20), weights: result.weights as string });
      assert.equal(detector.config.model.depth, 18);
      // Starting from those weights (train({ weights })) starts where the run ended, not from scratch.
      const again = await train({ config: tinyConfig(preset, 1), data: { annotations: data.trainAnnotations, images: data.trainImages }, outDir: await tempDir(), weights: result.weights });
      assert.ok(again.losses.loss < losses[0], `first loss from the weights ${again.losses.loss}, from scratch ${losses[0]}`);
    });
  }

  it('evaluates on the validation set periodically and at the end, with an AP curve', async () => {
    const outDir = await tempDir();
    const config = resolveConfig(tinyConfig('faster_rcnn_r18_fpn_small', 2), { train: { evalEvery: 1 } });
    const result = await train({
      config,
      data: { annotations: data.trainAnnotations, images: data.trainImages },
      val: { annotations: data.valAnnotations, images: data.valImages },
      outDir,
    });
    const records = (await fsp.readFile(path.join(outDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const aps = records.filter((r) => r.ap !== undefined);
    assert.deepEqual(aps.map((r) => r.iteration), [1, 2]);
    assert.ok(aps.every((r) => r.ap >= 0 && r.ap <= 1));
    assert.deepEqual(result.curves.map((f) => path.basename(f)), ['loss_curves.png', 'ap_curve.png']);
  });

  it('an iscrowd region is never a positive: with only a crowd box there is no box-regression loss', async () => {
    const config = tinyConfig('faster_rcnn_r18_fpn_small', 1);
    const trainer = await NativeTrainer.create({ ...PROBE, model: 'detector', modelConfig: config.model, lr: 0.01 });
    const image = { data: new Uint8Array(96 * 96 * 3).fill(90), height: 96, width: 96 };
    const crowdOnly = await trainer.step([
      { images: [image], targets: [{ boxes: new Float32Array(0), labels: new Int32Array(0), crowdBoxes: new Float32Array([10, 10, 60, 60]) }] },
    ]);
    const asBox = await trainer.step([
      { images: [image], targets: [{ boxes: new Float32Array([10, 10, 60, 60]), labels: new Int32Array([2]), crowdBoxes: new Float32Array(0) }] },
    ]);
    await trainer.dispose();
    assert.equal(crowdOnly.losses.loss_box_reg, 0);
    assert.equal(crowdOnly.losses.loss_rpn_box_reg, 0);
    assert.ok(asBox.losses.loss_box_reg > 0 && asBox.losses.loss_rpn_box_reg > 0, 'the same box, not crowd, is a positive');
  });

  it('owns its random stream: a seeded Detector.losses() between steps changes nothing', async () => {
    const config = tinyConfig('ir_rcnn_r18_fpn_small', 4);
    const image = (shade: number) => ({ data: new Uint8Array(96 * 96 * 3).map((_, i) => (shade + i * 7) % 251), height: 96, width: 96 });
    const batch = (i: number) => [{
      images: [image(10 + i), image(90 + i)],
      targets: [0, 1].map((j) => ({ boxes: new Float32Array([8 + 4 * i, 12, 50 + 9 * j, 70]), labels: new Int32Array([1 + j]), crowdBoxes: new Float32Array(0) })),
    }];
    const run = async (interrupt: boolean) => {
      await using trainer = await NativeTrainer.create({ ...PROBE, model: 'detector', modelConfig: config.model, lr: 0.01, seed: 5 });
      await using detector = await Detector.load({ config });
      const losses: number[] = [];
      for (let i = 0; i < 4; i++) {
        losses.push((await trainer.step(batch(i))).losses.loss);
        // The losses draw from their own generator, seeded here; before, they reseeded the global one the trainer drew from.
        if (interrupt) await detector.losses(batch(i)[0].images, batch(i)[0].targets, { seed: 123 });
      }
      const { tensors } = await trainer.state();
      return { losses, tensors };
    };
    const plain = await run(false);
    const interrupted = await run(true);
    assert.deepEqual(interrupted.losses, plain.losses);
    for (const [name, t] of Object.entries(plain.tensors)) assert.deepEqual(interrupted.tensors[name].data, t.data, name);
  });

  it('`ir-rcnn train --nproc-per-node 2` trains on two processes and resumes', async () => {
    const outDir = await tempDir();
    const configFile = path.join(outDir, 'config.json');
    await fsp.writeFile(configFile, JSON.stringify(tinyConfig('faster_rcnn_r18_fpn_small', 2)));
    const port = await freePort();
    const args = ['train', '--config', configFile, '--annotations', data.trainAnnotations, '--images', data.trainImages, '--out', outDir];
    const cli = (extra: string[]): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = fork(CLI, [...args, ...extra], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
        let out = '';
        let err = '';
        child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`ir-rcnn train exited ${code}: ${err}`))));
      });
    const first = JSON.parse(await cli(['--nproc-per-node', '2', '--master-port', String(port)]));
    assert.equal(first.iteration, 2);
    const second = JSON.parse(await cli(['--iterations', '3', '--resume']));
    assert.equal(second.iteration, 3);
    assert.equal((await lossesOf(outDir)).length, 3);
    await fsp.access(path.join(outDir, 'model.safetensors'));
  });

  it('IR R-CNN diverging at a huge learning rate stops through the trainer\'s non-finite check, not an op error', async function () {
    const outDir = await tempDir();
    const config = resolveConfig('ir_rcnn_r18_fpn_small', {
      model: { minSize: 96, maxSize: 96 },
      train: { iterations: 40, imagesPerBatch: 2, lr: 1e6, warmupIters: 0, milestones: [], checkpointEvery: 1, seed: 1 },
    });
    await assert.rejects(train({ config, data: { annotations: data.trainAnnotations, images: data.trainImages }, outDir }), (error: Error) => {
      assert.match(error.message, /^training stopped: non-finite loss at iteration \d+ .*; (the last good checkpoint is .*checkpoint_\d+\.safetensors|no checkpoint had been written yet)$/);
      return true;
    });
  });

  it('workers end when the launcher is killed with SIGKILL', async function () {
    this.timeout(60000);
    const outDir = await tempDir();
    const configFile = path.join(outDir, 'config.json');
    await fsp.writeFile(configFile, JSON.stringify(tinyConfig('faster_rcnn_r18_fpn_small', 100000)));
    const launcher = fork(CLI, ['train', '--config', configFile, '--annotations', data.trainAnnotations, '--images', data.trainImages, '--out', outDir,
      '--nproc-per-node', '2', '--master-port', String(await freePort())], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    launcher.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // Training is under way once rank 0 has logged an iteration: both workers are in the collective loop.
    const metrics = path.join(outDir, 'metrics.jsonl');
    while (!(await fsp.readFile(metrics, 'utf8').catch(() => '')).includes('"iteration"')) await new Promise((r) => setTimeout(r, 100));
    const pid = launcher.pid as number;
    const workers = (await fsp.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
    assert.equal(workers.length, 2, `the launcher's children: ${workers.join(' ')}`);
    // Running, or a zombie that no one has reaped yet (orphans go to a PID 1 that may never reap).
    const alive = (p: number): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${p}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    launcher.kill('SIGKILL');
    const killedAt = Date.now();
    while (workers.some(alive) && Date.now() - killedAt < 20000) await new Promise((r) => setTimeout(r, 100));
    const survivors = workers.filter(alive);
    survivors.forEach((p) => process.kill(p, 'SIGKILL'));
    assert.deepEqual(survivors, [], `workers still running ${Date.now() - killedAt} ms after the launcher was killed; ${stderr}`);
  });
});

describe('train: local launcher', () => {
  it('when one worker dies the others are stopped and the launch fails naming it', async () => {
    const started = Date.now();
    await assert.rejects(
      launchWorkers({ module: WORKER, args: ['die-or-wait', '-'], nprocPerNode: 2, nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 1 }),
      /training worker rank 1 exited with status 3; stopped the other workers/,
    );
    assert.ok(Date.now() - started < 10000);
  });
});
