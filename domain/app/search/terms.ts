/**
 * The search term as a to_tsquery expression. Words are runs of letters and digits (what the
 * `simple` parser keeps as words), all required; a word starting with `-` must be absent, as in
 * Synapse's query parsing. The last word matches as a prefix (`:*`), as Synapse does, so results
 * come while the user is still typing.
 */
const WORD = /(-?)([\p{L}\p{N}_]+)/gu;
/** More words than anyone types; bounds the query the database parses. */
export const MAX_SEARCH_WORDS = 32;

export interface SearchTerms {
  /** The to_tsquery text; undefined when the term holds no word (nothing matches). */
  readonly tsquery: string | undefined;
  /** The words to find, lowercased. */
  readonly words: readonly string[];
}

export const searchTerms = (term: string): SearchTerms => {
  const parsed: { word: string; negated: boolean }[] = [];
  for (const match of term.matchAll(WORD)) {
    if (parsed.length === MAX_SEARCH_WORDS) break;
    parsed.push({ word: match[2]!.toLowerCase(), negated: match[1] === '-' });
  }
  const lastPositive = parsed.findLastIndex((entry) => !entry.negated);
  if (lastPositive < 0) return { tsquery: undefined, words: [] };
  // Quoted: a word is then a single lexeme whatever characters to_tsquery treats as operators.
  const tsquery = parsed.map(({ word, negated }, index) => `${negated ? '!' : ''}'${word}'${index === lastPositive ? ':*' : ''}`).join(' & ');
  return { tsquery, words: parsed.filter((entry) => !entry.negated).map((entry) => entry.word) };
};
