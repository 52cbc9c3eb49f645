import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../kit/errors.ts';
import { ConfigErrors, SETTING_DOCS, describeConfig, loadConfig, redactUrl } from './index.ts';

function problemsOf(env: Record<string, string>) {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(GatehouseError);
    expect((e as GatehouseError).code).toBe(ConfigErrors.invalid);
    return (e as GatehouseError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.logLevel).toBe('info');
    expect(c.trustProxy).toBe(false);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: ' ' }).port).toBe(8080);
  });

  it.each([
    ['PORT', 'abc', 'whole number'],
    ['PORT', '70000', 'at most 65535'],
    ['PORT', '0', 'at least 1'],
    ['DATABASE_URL', 'mysql://x@y/z', 'postgres://'],
    ['GATEHOUSE_LOG_LEVEL', 'loud', 'one of'],
    ['GATEHOUSE_TRUST_PROXY', 'maybe', 'true or false'],
    ['GATEHOUSE_BOOTSTRAP_TOKEN', 'short', 'at least 32'],
    ['GATEHOUSE_URL', 'ftp://x', 'http(s) URL'],
  ])('names %s=%s and the reason', (env, value, reason) => {
    const problems = problemsOf({
      [env]: value,
      ...(env === 'GATEHOUSE_URL' ? { GATEHOUSE_TOKEN: 't' } : {}),
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.field).toBe(env);
    expect(problems[0]!.message).toContain(reason);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      PORT: 'abc',
      GATEHOUSE_LOG_LEVEL: 'x',
      GATEHOUSE_DB_POOL_MAX: '0',
      GATEHOUSE_URL: 'https://g.example',
    });
    expect(problems.map((p) => p.field).sort()).toEqual([
      'GATEHOUSE_DB_POOL_MAX',
      'GATEHOUSE_LOG_LEVEL',
      'GATEHOUSE_TOKEN',
      'PORT',
    ]);
  });

  it('never echoes a secret value in its error', () => {
    let message = '';
    try {
      loadConfig({ GATEHOUSE_BOOTSTRAP_TOKEN: 'hunter2-secret', DATABASE_URL: 'nope://secretpw' });
    } catch (e) {
      message = (e as Error).message + JSON.stringify((e as GatehouseError).problems);
    }
    expect(message).toContain('GATEHOUSE_BOOTSTRAP_TOKEN');
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('secretpw');
  });
});

describe('describeConfig', () => {
  it('masks secrets and says where each value came from', () => {
    const env = {
      DATABASE_URL: 'postgres://gh:s3cret@db.example:5432/gh',
      PORT: '9000',
      GATEHOUSE_BOOTSTRAP_TOKEN: 'x'.repeat(40),
    };
    const items = describeConfig(loadConfig(env), env);
    const by = Object.fromEntries(items.map((i) => [i.env, i]));
    expect(by.DATABASE_URL!.value).toBe('postgres://gh:***@db.example:5432/gh');
    expect(by.GATEHOUSE_BOOTSTRAP_TOKEN!.value).toBe('***');
    expect(by.PORT).toMatchObject({ value: '9000', source: 'environment' });
    expect(by.HOST).toMatchObject({ value: '127.0.0.1', source: 'default' });
    expect(JSON.stringify(items)).not.toContain('s3cret');
  });

  it('redactUrl keeps the rest of the URL', () => {
    expect(redactUrl('postgres://u:p@h:1/d?sslmode=require')).toBe('postgres://u:***@h:1/d?sslmode=require');
    expect(redactUrl('postgres://u@h/d')).toBe('postgres://u@h/d');
  });
});

describe('docs/CONFIGURATION.md', () => {
  const doc = readFileSync(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
  it.each(SETTING_DOCS.map((d) => [d.env, d]))('documents %s', (env, d) => {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${env}\``));
    expect(row, `no table row for ${env}`).toBeDefined();
    if (d.default !== undefined) expect(row).toContain(`\`${d.default}\``);
  });
});
