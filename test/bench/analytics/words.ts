/**
 * Message text for the synthetic corpora of `bench analytics` and `bench search`: a Zipf sampler
 * (room sizes, word frequencies follow a long tail) and bodies drawn from a made-up vocabulary, both
 * driven by a seeded generator (test/harness/seededRandom.ts) so Strata and Synapse get the same messages.
 */

/** Samples ranks 0..n-1 with P(rank r) proportional to 1 / (r + 1)^exponent. */
export interface Zipf {
  readonly size: number;
  /** The share of all draws rank `r` gets. */
  share(rank: number): number;
  sample(random: () => number): number;
}

export const zipf = (size: number, exponent: number): Zipf => {
  if (!Number.isInteger(size) || size < 1) throw new Error(`zipf: size must be a positive integer, got ${size}`);
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let r = 0; r < size; r += 1) {
    total += 1 / (r + 1) ** exponent;
    cumulative[r] = total;
  }
  return {
    size,
    share: (rank) => 1 / (rank + 1) ** exponent / total,
    sample: (random) => {
      const target = random() * total;
      let low = 0;
      let high = size - 1;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (cumulative[middle]! < target) low = middle + 1;
        else high = middle;
      }
      return low;
    },
  };
};

/**
 * Three-letter syllables from consonants and vowels; every word has at least two, so no word is a
 * stop word of PostgreSQL's `english` configuration (Synapse's), which would make it unsearchable.
 */
const CONSONANTS = 'bdfgklmnprstvz';
const VOWELS = 'aeiou';
const SYLLABLES: readonly string[] = (() => {
  const all: string[] = [];
  for (const first of CONSONANTS) for (const vowel of VOWELS) for (const last of 'lmnrt') all.push(`${first}${vowel}${last}`);
  return all;
})();

/** The word of frequency rank `rank` (0 is the most frequent): distinct for distinct ranks. */
export const wordOfRank = (rank: number): string => {
  let n = rank + SYLLABLES.length;
  const parts: string[] = [];
  while (n > 0) {
    parts.push(SYLLABLES[n % SYLLABLES.length]!);
    n = Math.floor(n / SYLLABLES.length);
  }
  return parts.join('');
};

export const VOCABULARY_SIZE = 50_000;

export interface TextSource {
  /** A message body: a few to a few hundred words, Zipf-distributed over the vocabulary. */
  body(random: () => number): string;
}

/**
 * Bodies as chat looks: mostly short (median around 8 words), a long tail of long messages.
 * Words follow Zipf's law with exponent 1.07 over the vocabulary.
 */
export const createTextSource = (): TextSource => {
  const words = zipf(VOCABULARY_SIZE, 1.07);
  const cache = new Map<number, string>();
  const word = (rank: number): string => {
    let cached = cache.get(rank);
    if (cached === undefined) {
      cached = wordOfRank(rank);
      if (cache.size < 100_000) cache.set(rank, cached);
    }
    return cached;
  };
  return {
    body: (random) => {
      // A log-normal length: exp(N(2.1, 0.8)), at least 1 and at most 300 words.
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      const length = Math.max(1, Math.min(300, Math.round(Math.exp(2.1 + 0.8 * normal))));
      const parts = new Array<string>(length);
      for (let i = 0; i < length; i += 1) parts[i] = word(words.sample(random));
      return parts.join(' ');
    },
  };
};
