/**
 * User and group names ⇄ numbers, from /etc/passwd and /etc/group (read once, lazily). NSS sources
 * such as LDAP are not consulted: GNU tar asks libc, which Node cannot; for local accounts the answer
 * is the same.
 */
import { readFileSync } from 'node:fs';

interface Table {
  byId: Map<number, string>;
  byName: Map<string, number>;
}

function load(file: string): Table {
  const t: Table = { byId: new Map(), byName: new Map() };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return t;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    const n = Number(id);
    if (!t.byId.has(n)) t.byId.set(n, name);
    if (!t.byName.has(name)) t.byName.set(name, n);
  }
  return t;
}

let users: Table | undefined;
let groups: Table | undefined;

export function userName(uid: number): string | undefined {
  users ??= load('/etc/passwd');
  return users.byId.get(uid);
}

export function groupName(gid: number): string | undefined {
  groups ??= load('/etc/group');
  return groups.byId.get(gid);
}

/** The local uid for a recorded owner: by name when the name exists here (as GNU tar does), else the number. */
export function resolveUid(uid: number, name: string | undefined): number {
  users ??= load('/etc/passwd');
  return (name !== undefined ? users.byName.get(name) : undefined) ?? uid;
}

export function resolveGid(gid: number, name: string | undefined): number {
  groups ??= load('/etc/group');
  return (name !== undefined ? groups.byName.get(name) : undefined) ?? gid;
}
