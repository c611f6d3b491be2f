/**
 * Bundles TypeScript source written inline in a test into one Node script, so a test can
 * run (and kill) a piece of the agent in a child process. Imports resolve from the repository root.
 */
import { buildSync } from 'esbuild';
import { repoRoot } from './run-cli';

export function bundleChildScript(source: string, outfile: string, external: readonly string[]): void {
  buildSync({
    stdin: { contents: source, resolveDir: repoRoot, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    external: [...external],
    outfile,
    logLevel: 'silent',
  });
}
