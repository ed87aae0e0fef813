/**
 * Sliding sync extensions (to_device, e2ee, account_data, receipts, typing): the answer for the
 * extensions a request names. Until they are served, every request answers none and the
 * connection keeps the positions it had.
 */
import type { SyncContext } from '../../context.ts';
import type { ExtensionsInput, ExtensionsOutput } from '../types.ts';

export const extensionsAnswer = async (_ctx: SyncContext, input: ExtensionsInput): Promise<ExtensionsOutput> =>
  ({ answer: {}, positions: input.connection });
