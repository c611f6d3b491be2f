/**
 * Builds the web console's front end: esbuild bundles `agent/console/app/main.tsx` (Preact
 * pages, their CSS and uPlot's) into one hashed JS file and one hashed CSS file under
 * `dist/console/assets/`, and writes `dist/console/index.html` naming them. Run after tsc:
 * `node dist/agent/console/build.js`. The hashes change with the content, so the assets can
 * be cached for a year and index.html never.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { basename, join, relative } from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../store/package-root';
import { CONSOLE_DIR } from './static';

function page(script: string, style: string): string {
  // No inline script or style anywhere: the page's Content-Security-Policy (static.ts) forbids both.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>callguard console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/${style}">
<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>The callguard console needs JavaScript. Everything it does can also be done with the callguard command or the REST API under /v1/.</noscript></div>
</body>
</html>
`;
}

export async function buildConsole(root = packageRoot()): Promise<{ dir: string; script: string; style: string }> {
  const out = join(root, CONSOLE_DIR);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'agent/console/app/main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    tsconfig: join(root, 'agent/console/app/tsconfig.json'),
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  const script = outputs.find((file) => file.endsWith('.js'));
  const style = outputs.find((file) => file.endsWith('.css'));
  if (!script || !style) throw new Error(`console build made no ${script ? 'CSS' : 'JS'} file: ${outputs.join(', ')}`);
  for (const file of [script, style]) {
    const path = join(out, 'assets', file);
    const content = readFileSync(path);
    writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
    writeFileSync(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  }
  writeFileSync(join(out, 'index.html'), page(script, style));
  return { dir: out, script, style };
}

if (require.main === module) {
  buildConsole().then(
    ({ dir, script, style }) => console.log(`console built: ${relative(process.cwd(), dir) || dir} (${script}, ${style})`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
