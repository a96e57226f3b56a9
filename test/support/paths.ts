// Where the tests find the repository, the compiled files and the fixtures, wherever a test file
// sits (the compiled tests run from dist/test/<folder>/).
import * as path from 'path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The compiled tree (dist/). */
export const DIST = path.join(ROOT, 'dist');
/** The compiled CLI entry point. */
export const CLI = path.join(DIST, 'src', 'cli', 'main.js');
/** The committed fixtures (test/fixtures/, not compiled). */
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
