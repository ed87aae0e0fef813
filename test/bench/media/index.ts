/**
 * `npm run bench media -- --url URL --shared-secret S [--start-synapse | --baseline-url URL
 * --baseline-shared-secret S] [...]`: the content repository's throughput, each server in turn with
 * the same files: upload and download MB/s of random binaries (authenticated download endpoint),
 * JPEG uploads per second (each server makes its thumbnails at upload), and thumbnails per second
 * served at the sizes both precompute (Synapse's default thumbnail_sizes). See docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { mapLimit, newRunId } from '../cs/population.ts';
import { registerWithSharedSecret, type Session } from '../cs/matrixClient.ts';
import { ensureSynapse, stopSynapse, synapseDatabase } from '../cs/synapse.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);
const MiB = 1024 * 1024;
const SYNAPSE = { url: 'http://127.0.0.1:18008', secret: 'synapse-bench-secret', label: 'Synapse' };
/** Sizes Synapse and Strata both make at upload by default. */
const THUMBNAILS = ['width=32&height=32&method=crop', 'width=96&height=96&method=crop', 'width=320&height=240&method=scale', 'width=640&height=480&method=scale'];

export interface Target {
  readonly url: string;
  readonly secret: string;
  readonly label: string;
}

export interface MediaBenchOptions {
  readonly targets: Target[];
  readonly startSynapse: boolean;
  readonly files: number;
  readonly fileMib: number;
  readonly images: number;
  readonly rounds: number;
  readonly concurrency: number;
}

const usage = `usage: npm run bench media -- --url URL --shared-secret S [--label L]
  [--start-synapse | --baseline-url URL --baseline-shared-secret S [--baseline-label L]]
  [--files 4] [--file-mib 32] [--images 20] [--rounds 5] [--concurrency 4]`;

/** The command line, checked; throws naming what is wrong. */
export const parseMediaBenchArgs = (args: string[]): MediaBenchOptions => {
  const values = new Map<string, string>();
  let startSynapse = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--start-synapse') startSynapse = true;
    else if (arg.startsWith('--') && i + 1 < args.length) values.set(arg.slice(2), args[++i]!);
    else throw new Error(`unknown argument ${arg}`);
  }
  const count = (name: string, fallback: number): number => {
    const value = Number(values.get(name) ?? fallback);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  const url = values.get('url');
  const secret = values.get('shared-secret');
  if (url === undefined || secret === undefined) throw new Error('--url and --shared-secret are required');
  const targets: Target[] = [{ url, secret, label: values.get('label') ?? 'Strata' }];
  const baselineUrl = values.get('baseline-url');
  if (startSynapse) targets.push(SYNAPSE);
  else if (baselineUrl !== undefined) {
    targets.push({ url: baselineUrl, secret: values.get('baseline-shared-secret') ?? '', label: values.get('baseline-label') ?? 'baseline' });
  }
  return {
    targets, startSynapse,
    files: count('files', 4), fileMib: count('file-mib', 32), images: count('images', 20), rounds: count('rounds', 5), concurrency: count('concurrency', 4),
  };
};

/** A photo-like JPEG (noise over a gradient, so it compresses as photos do). */
const photo = async (seed: number): Promise<Buffer> => {
  const width = 1600;
  const height = 1200;
  return sharp({ create: { width, height, channels: 3, background: { r: (seed * 37) % 256, g: 120, b: 200 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 85 }).toBuffer();
};

const check = async (response: Response, what: string): Promise<Buffer> => {
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${bytes.toString('utf8').slice(0, 200)}`);
  return bytes;
};

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

interface Figures {
  readonly uploadMBps: number;
  readonly downloadMBps: number;
  readonly imageUploadsPerSecond: number;
  readonly thumbnailsPerSecond: number;
}

const measure = async (target: Target, options: MediaBenchOptions, files: readonly Buffer[], images: readonly Buffer[]): Promise<Figures> => {
  const http = { baseUrl: target.url, timeoutMs: 60_000, signal: new AbortController().signal };
  const session: Session = await registerWithSharedSecret(http, target.secret, newRunId(), `pw-${randomBytes(8).toString('hex')}`);
  const auth = { authorization: `Bearer ${session.accessToken}` };
  const upload = async (bytes: Buffer, type: string): Promise<string> => {
    const body = await check(await fetch(`${target.url}/_matrix/media/v3/upload`, {
      method: 'POST', headers: { ...auth, 'content-type': type }, body: bytes,
    }), 'upload');
    return (JSON.parse(body.toString('utf8')) as { content_uri: string }).content_uri.slice('mxc://'.length);
  };
  const bytes = files.reduce((sum, file) => sum + file.length, 0);

  let mediaPaths: string[] = [];
  const uploadSeconds = await timed(async () => {
    mediaPaths = await mapLimit(files, options.concurrency, (file) => upload(file, 'application/octet-stream'));
  });
  const downloadSeconds = await timed(() => mapLimit(mediaPaths, options.concurrency, async (mediaPath, i) => {
    const body = await check(await fetch(`${target.url}/_matrix/client/v1/media/download/${mediaPath}`, { headers: auth }), 'download');
    if (body.length !== files[i]!.length) throw new Error(`download of ${mediaPath}: ${body.length} bytes, not ${files[i]!.length}`);
  }));

  let imagePaths: string[] = [];
  const imageSeconds = await timed(async () => {
    imagePaths = await mapLimit(images, options.concurrency, (image) => upload(image, 'image/jpeg'));
  });
  const requests = Array.from({ length: options.rounds }, () => imagePaths.flatMap((mediaPath) => THUMBNAILS.map((query) => ({ mediaPath, query })))).flat();
  const thumbnailSeconds = await timed(() => mapLimit(requests, options.concurrency, async ({ mediaPath, query }) => {
    await check(await fetch(`${target.url}/_matrix/client/v1/media/thumbnail/${mediaPath}?${query}`, { headers: auth }), 'thumbnail');
  }));

  return {
    uploadMBps: bytes / MiB / uploadSeconds,
    downloadMBps: bytes / MiB / downloadSeconds,
    imageUploadsPerSecond: images.length / imageSeconds,
    thumbnailsPerSecond: requests.length / thumbnailSeconds,
  };
};

export const run = async (args: string[]): Promise<void> => {
  let options: MediaBenchOptions;
  try {
    if (args.includes('--help')) {
      process.stdout.write(`${usage}\n`);
      return;
    }
    options = parseMediaBenchArgs(args);
  } catch (error) {
    say(`bench media: ${error instanceof Error ? error.message : String(error)}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  let startedSynapse = false;
  try {
    if (options.startSynapse) {
      startedSynapse = ensureSynapse();
      say(`bench media: Synapse baseline on ${synapseDatabase()}`);
    }
    say(`bench media: ${options.files} × ${options.fileMib} MiB binaries, ${options.images} JPEGs 1600×1200 ` +
      `(${THUMBNAILS.length} thumbnail sizes × ${options.rounds} rounds), concurrency ${options.concurrency}`);
    const files = Array.from({ length: options.files }, () => randomBytes(options.fileMib * MiB));
    const images = await Promise.all(Array.from({ length: options.images }, (_, i) => photo(i)));
    const results: [Target, Figures][] = [];
    for (const target of options.targets) {
      say(`bench media: measuring ${target.label} at ${target.url}`);
      results.push([target, await measure(target, options, files, images)]);
    }
    const rows: [string, (f: Figures) => number, number][] = [
      ['upload MB/s', (f) => f.uploadMBps, 1],
      ['download MB/s', (f) => f.downloadMBps, 1],
      ['JPEG uploads/s (thumbnails made at upload)', (f) => f.imageUploadsPerSecond, 1],
      ['thumbnails/s (served)', (f) => f.thumbnailsPerSecond, 0],
    ];
    const lines = [`| | ${results.map(([t]) => t.label).join(' | ')} |`, `|---|${results.map(() => '---:').join('|')}|`];
    for (const [name, of, digits] of rows) lines.push(`| ${name} | ${results.map(([, f]) => of(f).toFixed(digits)).join(' | ')} |`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    say(`error: bench media: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    if (startedSynapse) stopSynapse();
  }
};
