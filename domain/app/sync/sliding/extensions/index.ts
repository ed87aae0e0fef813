/**
 * Sliding sync's extensions (MSC4186 § Extensions): to_device, e2ee, account_data, receipts and
 * typing, each answering only while enabled (sticky per connection) and only with news after the
 * connection's first answer, so an answer with no extension in it lets a long-poll go on waiting.
 */
import type { JsonObject } from '../../../../json.ts';
import type { SyncContext } from '../../context.ts';
import type { ExtensionsInput, ExtensionsOutput } from '../types.ts';
import { accountDataAnswer } from './accountData.ts';
import { parseExtensions, stickyPart } from './config.ts';
import { e2eeAnswer } from './e2ee.ts';
import { receiptsAnswer } from './receipts.ts';
import { roomsForExtension } from './scope.ts';
import { decodeState, encodeState, type ExtensionsState } from './state.ts';
import { toDeviceAnswer } from './toDevice.ts';
import { typingAnswer } from './typing.ts';

export const extensionsAnswer = async (ctx: SyncContext, input: ExtensionsInput): Promise<ExtensionsOutput> => {
  const { requester, since, upTo } = input;
  const previous = decodeState(input.connection);
  const request = parseExtensions(input.extensions, previous.sticky);
  // An extension turned on in a connection that had it off answers as on the connection's first answer.
  const was = previous.sticky;
  const sinceIf = (wasEnabled: boolean, position: number | undefined): number | undefined => (wasEnabled ? position : undefined);
  const scope = (extension: ExtensionsState['sticky']['accountData']) => roomsForExtension(extension, input.roomsInScope);
  // Others' receipts and typing are for members: not for an invite, a knock or a room left (as /sync).
  const joinedScope = (extension: ExtensionsState['sticky']['receipts']) =>
    scope(extension).filter((roomId) => input.membership(roomId) === 'join');

  const [toDevice, e2ee, accountData, receipts] = await Promise.all([
    request.toDevice.enabled
      ? toDeviceAnswer(ctx, requester, { since: request.toDeviceSince, limit: request.toDevice.limit }, upTo.toDevice,
        since === undefined || !was.toDevice.enabled)
      : undefined,
    request.e2ee.enabled ? e2eeAnswer(ctx, requester, since, upTo, previous.keyCounts) : undefined,
    request.accountData.enabled
      ? accountDataAnswer(ctx, requester.userId, scope(request.accountData), previous.accountData,
        sinceIf(was.accountData.enabled, since?.accountData), upTo.accountData)
      : undefined,
    request.receipts.enabled
      ? receiptsAnswer(ctx, requester.userId, joinedScope(request.receipts), input.rooms ?? {}, previous.receipts,
        sinceIf(was.receipts.enabled, since?.receipts), upTo.receipts)
      : undefined,
  ]);
  const typing = request.typing.enabled ? typingAnswer(ctx, joinedScope(request.typing), sinceIf(was.typing.enabled, since?.typing), upTo.typing) : undefined;

  const answer: JsonObject = {
    ...(toDevice === undefined ? {} : { to_device: toDevice }),
    ...(e2ee?.answer === undefined ? {} : { e2ee: e2ee.answer }),
    ...(accountData?.answer === undefined ? {} : { account_data: accountData.answer }),
    ...(receipts?.answer === undefined ? {} : { receipts: receipts.answer }),
    ...(typing === undefined ? {} : { typing }),
  };
  const next: ExtensionsState = {
    sticky: stickyPart(request),
    accountData: accountData?.sent ?? previous.accountData,
    receipts: receipts?.sent ?? previous.receipts,
    // Counts are remembered only once sent: unsent ones stay news.
    keyCounts: e2ee?.answer === undefined ? previous.keyCounts : e2ee.keyCounts,
  };
  return { answer, positions: encodeState(next) };
};
