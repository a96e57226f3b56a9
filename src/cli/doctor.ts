// `ir-rcnn doctor [--json]`: where LibTorch was found, which addon loads, CUDA, BLAS and threads,
// and the command that fixes each problem. Exit status 1 when there is a problem.
import { doctor, formatDoctorReport } from '../doctor';
import { parseArgs, printJson, UsageError } from './args';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: [], flags: ['json'] });
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'; usage: ir-rcnn doctor [--json]`);
  const report = doctor();
  if (args.options.has('json')) await printJson(report);
  else process.stdout.write(formatDoctorReport(report));
  if (report.problems.length > 0) process.exitCode = 1;
}
