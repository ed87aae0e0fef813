import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeSynapseDatabase, synapseDatabase } from './synapse.ts';

describe('describeSynapseDatabase', () => {
  it('names PostgreSQL with its database and address, and SQLite with its file', () => {
    expect(describeSynapseDatabase({ name: 'psycopg2', args: { host: '127.0.0.1', port: 15432, dbname: 'synapse' } }))
      .toBe('PostgreSQL (database synapse on 127.0.0.1:15432)');
    expect(describeSynapseDatabase({ name: 'sqlite3', args: { database: '/data/homeserver.db' } })).toBe('SQLite (/data/homeserver.db)');
    expect(describeSynapseDatabase(undefined)).toBe('unknown (database.name undefined)');
  });
});

describe('synapseDatabase', () => {
  it('reads the homeserver.yaml synapse.sh wrote under the services folder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-bench-'));
    try {
      await mkdir(path.join(dir, 'synapse', 'conf'), { recursive: true });
      await writeFile(path.join(dir, 'synapse', 'conf', 'homeserver.yaml'),
        'server_name: x\ndatabase:\n  name: psycopg2\n  args:\n    host: "127.0.0.1"\n    port: 15432\n    dbname: "synapse"\n');
      expect(synapseDatabase({ STRATA_SERVICES_DIR: dir })).toBe('PostgreSQL (database synapse on 127.0.0.1:15432)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says unknown when there is no config to read', () => {
    expect(synapseDatabase({ STRATA_SERVICES_DIR: '/nonexistent' })).toMatch(/^unknown \(cannot read \/nonexistent\/synapse\/conf\/homeserver\.yaml/);
  });
});
