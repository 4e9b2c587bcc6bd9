// The package as installed: what `npm pack` put in it, and that the tests
// ran that copy.
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { INSTALLED, tenure } from './agent.js';

const source = dirname(dirname(fileURLToPath(import.meta.url)));
const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));

test('the manifest points at files that exist and has no dependencies', () => {
  assert.equal(manifest.type, 'module');
  for (const file of [manifest.main, manifest.types, manifest.exports['.'].default, manifest.exports['.'].types]) {
    assert.ok(existsSync(join(source, file)), file);
  }
  assert.equal(manifest.dependencies, undefined);
  assert.equal(manifest.devDependencies, undefined);
});

test('the tests ran the installed copy', INSTALLED ? {} : { skip: 'TENURE_JS_MODULE is not set: run `go test ./e2e -run Clients`' }, () => {
  const dir = dirname(INSTALLED);
  assert.notEqual(dir, source);
  const installed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  assert.equal(installed.name, manifest.name);
  assert.equal(installed.version, manifest.version);
  for (const file of ['index.js', 'index.d.ts', 'README.md', 'lib/client.js', 'lib/lease.js', 'lib/errors.js', 'lib/wire.js']) {
    assert.ok(existsSync(join(dir, file)), file);
  }
  assert.ok(!existsSync(join(dir, 'test')), 'the tests are not packed');
  // Every name the declarations promise is exported by the code.
  const declared = [...readFileSync(join(dir, 'index.d.ts'), 'utf8').matchAll(/^export declare (?:const|class|function) (\w+)/gm)].map((m) => m[1]);
  assert.ok(declared.length >= 10, declared.join(','));
  for (const name of declared) assert.ok(name in tenure, `${name} is declared but not exported`);
});
