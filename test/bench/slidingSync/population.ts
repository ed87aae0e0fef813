/**
 * The measured user and their rooms, kept between runs: building 1,000 rooms takes minutes (on
 * Synapse especially), so the user's id and token are saved per server under
 * `$STRATA_SERVICES_DIR/bench-sliding-sync/` (default `.services/`) and reused while the server
 * still knows the token, with every room the user is in; missing rooms are created.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createRoom, MatrixHttpError, registerWithSharedSecret, request, withRetry, type HttpOptions, type Session } from '../cs/matrixClient.ts';
import { mapLimit, newRunId } from '../cs/population.ts';

export interface BenchUser extends Session {
  readonly roomIds: readonly string[];
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The file a server's population is kept in, named after its URL and server name. */
export const populationFile = (url: string, serverName: string, env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const dir = path.join(env.STRATA_SERVICES_DIR ?? path.join(repoRoot, '.services'), 'bench-sliding-sync');
  return path.join(dir, `${`${new URL(url).host}_${serverName}`.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
};

const load = (file: string): Session | undefined => {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { userId?: unknown; accessToken?: unknown };
    if (typeof saved.userId !== 'string' || typeof saved.accessToken !== 'string') return undefined;
    return { userId: saved.userId, accessToken: saved.accessToken };
  } catch {
    return undefined;
  }
};

const save = (file: string, user: Session): void => {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ userId: user.userId, accessToken: user.accessToken }));
};

/** The saved user if the server still knows its token, with the rooms it is in. */
const reuse = async (http: HttpOptions, file: string): Promise<BenchUser | undefined> => {
  const saved = load(file);
  if (saved === undefined) return undefined;
  try {
    const whoami = await request(http, 'GET', '/_matrix/client/v3/account/whoami', { token: saved.accessToken });
    if (whoami.user_id !== saved.userId) return undefined;
    const joined = await request(http, 'GET', '/_matrix/client/v3/joined_rooms', { token: saved.accessToken });
    // The user is the bench's alone: every room it is in counts, saved or not (a creation cut short).
    const roomIds = Array.isArray(joined.joined_rooms) ? joined.joined_rooms.filter((id): id is string => typeof id === 'string') : [];
    return { userId: saved.userId, accessToken: saved.accessToken, roomIds };
  } catch (error) {
    if (error instanceof MatrixHttpError && error.status === 401) return undefined;
    throw error;
  }
};

export const benchUser = async (
  http: HttpOptions, sharedSecret: string, serverName: string, rooms: number, say: (line: string) => void,
): Promise<BenchUser> => {
  const file = populationFile(http.baseUrl, serverName);
  let user = await reuse(http, file);
  if (user === undefined) {
    const session = await withRetry(() => registerWithSharedSecret(http, sharedSecret, newRunId(), randomBytes(12).toString('hex')));
    user = { ...session, roomIds: [] };
    save(file, session);
    say(`  registered ${user.userId}`);
  } else {
    say(`  reusing ${user.userId} (${user.roomIds.length} rooms) from ${file}`);
  }
  if (user.roomIds.length > rooms) {
    // Exactly `rooms`: the extra ones (a larger --rooms earlier) are left.
    const extra = user.roomIds.slice(rooms);
    say(`  leaving ${extra.length} rooms`);
    await mapLimit(extra, 4, (roomId) => withRetry(() => request(http, 'POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {
      token: user!.accessToken, body: {},
    })));
    return { ...user, roomIds: user.roomIds.slice(0, rooms) };
  }
  const missing = rooms - user.roomIds.length;
  if (missing === 0) return user;
  say(`  creating ${missing} rooms`);
  const roomIds = [...user.roomIds];
  const session: Session = user;
  const started = Date.now();
  for (let done = 0; done < missing;) {
    const batch = Math.min(50, missing - done);
    const created = await mapLimit(Array.from({ length: batch }, (_, i) => roomIds.length + i), 4, (n) =>
      withRetry(() => createRoom(http, session, `sliding sync bench room ${n}`)));
    roomIds.push(...created);
    done += batch;
    if (done % 200 === 0 || done === missing) say(`  ${done}/${missing} rooms created (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  return { ...session, roomIds };
};
