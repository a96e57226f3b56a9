// The demo's kernel choice (src/demo/kernels.ts): AVX2 kernels where the CPU runs them, the
// user's own settings kept, nothing set where the CPU cannot.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chooseKernels, cpuSimdFlags, PORTABLE_KERNELS } from '../../src/demo/kernels';

describe('demo kernels', () => {
  it('portable sets the AVX2 caps where the CPU has AVX2 and FMA, keeping variables the user set', () => {
    const env: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Zen' };
    const settings = chooseKernels('portable', env, ['avx', 'avx2', 'avx512f', 'fma']);
    assert.deepEqual(settings, { mode: 'portable', env: { ...PORTABLE_KERNELS, OPENBLAS_CORETYPE: 'Zen' }, cpuFlags: ['avx', 'avx2', 'avx512f', 'fma'] });
    assert.equal(env.DNNL_MAX_CPU_ISA, 'AVX2');
    assert.equal(env.ATEN_CPU_CAPABILITY, 'avx2');
  });

  it('native, or a CPU without AVX2 and FMA, sets nothing and reports what is set', () => {
    const env: NodeJS.ProcessEnv = {};
    assert.deepEqual(chooseKernels('native', env, ['avx2', 'fma']), { mode: 'native', env: {}, cpuFlags: ['avx2', 'fma'] });
    assert.deepEqual(chooseKernels('portable', env, ['avx', 'sse4_2']), { mode: 'native', env: {}, cpuFlags: ['avx', 'sse4_2'] });
    assert.deepEqual(env, {});
    assert.deepEqual(chooseKernels('native', { ATEN_CPU_CAPABILITY: 'default' }, []).env, { ATEN_CPU_CAPABILITY: 'default' });
  });

  it('reads the SIMD flags of /proc/cpuinfo, and none where there is no such file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-cpuinfo-')), 'cpuinfo');
    fs.writeFileSync(file, 'processor\t: 0\nflags\t\t: fpu sse4_2 avx2 fma avx512f avx512_bf16 amx_tile\nprocessor\t: 1\nflags\t\t: fpu\n');
    assert.deepEqual(cpuSimdFlags(file), ['amx_tile', 'avx2', 'avx512_bf16', 'avx512f', 'fma', 'sse4_2']);
    assert.deepEqual(cpuSimdFlags(path.join(path.dirname(file), 'none')), []);
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});
