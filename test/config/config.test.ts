/**
 * The config file's checks (src/config/): options of the command's own definitions in either
 * spelling, a list option from one text, choices, the sources list, the mail block and its defaults,
 * and every mistake named with its file and line; the flags over the file; --print-config's masking.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type OptionSpec } from '../../src/config/config.js';
import { applyConfig, renderConfig } from '../../src/config/effective.js';

const SPECS: OptionSpec[] = [
  { name: 'out', type: 'string' },
  { name: 'level', type: 'number' },
  { name: 'exclude', type: 'array' },
  { name: 'volume-size', type: 'string' },
  { name: 'checksum', type: 'boolean' },
  { name: 'mode', type: 'string', choices: ['full', 'incremental', 'differential', 'cyclic'] },
];

const parse = (text: string) => parseConfig(text, 'b.yaml', SPECS);

/** The UsageError parse throws, checked to name the file, line and `what`. */
function refuses(text: string, line: number, what: RegExp): void {
  assert.throws(
    () => parse(text),
    (e: Error) => {
      assert.equal(e.name, 'UsageError');
      assert.match(e.message, new RegExp(`^b\\.yaml:${line}: `), e.message);
      assert.match(e.message, what);
      return true;
    },
  );
}

describe('config file (pack --config)', () => {
  it('reads options by their flag name or in camelCase, lists, choices and sources', () => {
    const c = parse('sources:\n  - /a\n  - /b\nout: /set\nvolumeSize: 700000000\nexclude: "*.o"\nlevel: 9\nchecksum: true\nmode: cyclic\n');
    assert.deepEqual(c.sources, ['/a', '/b']);
    assert.deepEqual(Object.fromEntries([...c.options].map(([k, v]) => [k, v.value])), { out: '/set', 'volume-size': '700000000', exclude: ['*.o'], level: 9, checksum: true, mode: 'cyclic' });
    assert.equal(c.options.get('level')!.line, 7);
    assert.equal(c.mail, null);
    assert.deepEqual(parse('').options.size, 0);
  });

  it('an unknown key, a wrong type, a bad choice, a key twice, bad YAML: each named with its line', () => {
    refuses('out: /set\n\nexclude-regexp: x\n', 3, /unknown key "exclude-regexp" \(the keys are: .*checksum.*mail.*sources/);
    refuses('out: /set\nlevel: high\n', 2, /level is a number, not "high"/);
    refuses('checksum: yes please\n', 1, /checksum is true or false/);
    refuses('out: /s\nmode: weekly\n', 2, /mode is one of full, incremental, differential, cyclic, not "weekly"/);
    refuses('out: /a\nout: /b\n', 2, /not valid YAML: .*unique/i);
    refuses('out: /a\nvolume-size: 1G\nvolumeSize: 2G\n', 3, /given twice/);
    refuses('sources:\n  - /a\n  - [x]\n', 3, /each entry of sources is a text/);
    refuses('out: /a\nexclude: [a, b\n', 3, /not valid YAML/);
    refuses('- /a\n- /b\n', 1, /a mapping of keys/);
  });

  it('commands: a program with its arguments, or a text run by sh -c; each mistake by line', () => {
    const c = parse('commands:\n  - name: db.sql\n    command: [pg_dump, -U, app, appdb]\n  - {name: etc.tar, command: "tar -cf - /etc | cat"}\n');
    assert.deepEqual(c.commands, [
      { name: 'db.sql', command: ['pg_dump', '-U', 'app', 'appdb'] },
      { name: 'etc.tar', command: ['sh', '-c', 'tar -cf - /etc | cat'] },
    ]);
    assert.deepEqual(parse('out: /set\n').commands, []);
    refuses('out: /set\ncommands: pg_dump\n', 2, /commands is a list of \{name, command\}/);
    refuses('commands:\n  - pg_dump\n', 2, /each entry of commands is \{name, command\}/);
    refuses('commands:\n  - name: a\n', 2, /needs both name and command/);
    refuses('commands:\n  - name: a\n    command: [x]\n    shell: true\n', 4, /unknown key "shell" in a command/);
    refuses('commands:\n  - {name: a, command: [x]}\n  - {name: a, command: [y]}\n', 3, /two commands are named "a"/);
    refuses('commands:\n  - {name: a, command: []}\n', 2, /command is not empty/);
  });

  it('mail: defaults, several recipients, and its mistakes by line', () => {
    const c = parse('mail:\n  host: smtp.example.org\n  tls: tls\n  from: x@example.org\n  to: [a@example.org, b@example.org]\n  user: x\n  passwordEnv: PW\n');
    assert.deepEqual(c.mail, { host: 'smtp.example.org', port: 465, tls: 'tls', from: 'x@example.org', to: ['a@example.org', 'b@example.org'], when: 'always', user: 'x', passwordEnv: 'PW' });
    assert.equal(parse('mail:\n  host: h\n  from: f\n  to: t\n').mail!.port, 587);
    assert.equal(parse('mail:\n  host: h\n  from: f\n  to: t\n  tls: none\n').mail!.port, 25);
    refuses('out: /s\nmail:\n  host: h\n  from: f\n  to: t\n  pasword: x\n', 6, /unknown key mail\.pasword/);
    refuses('mail:\n  host: h\n  from: f\n  to: t\n  tls: ssl\n', 5, /mail\.tls is tls \(implicit TLS\), starttls or none/);
    refuses('mail:\n  host: h\n  from: f\n  to: t\n  when: sometimes\n', 5, /mail\.when is always or problems/);
    refuses('mail:\n  host: h\n  from: f\n', 2, /mail needs to:/);
    refuses('mail:\n  host: h\n  from: f\n  to: t\n  port: 99999\n', 5, /mail\.port is a port number/);
    refuses('mail:\n  host: h\n  from: f\n  to: t\n  user: u\n', 2, /needs a password/);
    refuses('mail:\n  host: h\n  from: f\n  to: t\n  passwordEnv: A\n  passwordFile: /b\n', 6, /give one of/);
  });

  it('the flags override the file; --print-config masks a password given in the file', () => {
    const c = parse('out: /set\nlevel: 9\nexclude: [a, b]\nmail:\n  host: h\n  from: f\n  to: t\n  user: u\n  password: hunter2-secret\n');
    const argv: Record<string, unknown> = { level: 3, l: 3, exclude: [], out: undefined };
    const taken = applyConfig(argv, c, (name) => name === 'level', { level: ['l'], out: ['o'] });
    assert.deepEqual(taken.sort(), ['exclude', 'out']);
    assert.equal(argv.level, 3);
    assert.equal(argv.out, '/set');
    assert.equal(argv.o, '/set');
    assert.deepEqual(argv.exclude, ['a', 'b']);
    const shown = renderConfig({ sources: ['/x'], options: { out: '/set', level: 3 }, mail: c.mail });
    assert.doesNotMatch(shown, /hunter2/);
    assert.match(shown, /password: "\*+"/);
    assert.match(shown, /^out: \/set$/m);
  });
});
