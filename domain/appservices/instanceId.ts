/**
 * Third-party instance ids (`third_party_instance_id` of /publicRooms, `instance_id` of a protocol's
 * instances): which bridge's list for which of its networks, written `appserviceId|networkId` as
 * Synapse's ThirdPartyInstanceID writes them (the spec leaves the format to the server).
 */

export interface ThirdPartyInstance {
  readonly appserviceId: string;
  readonly networkId: string;
}

export const thirdPartyInstanceId = (appserviceId: string, networkId: string): string => `${appserviceId}|${networkId}`;

/** The instance an id names, or undefined when it is not `appserviceId|networkId` (one `|`, as Synapse splits it). */
export const parseThirdPartyInstanceId = (id: string): ThirdPartyInstance | undefined => {
  const parts = id.split('|');
  if (parts.length !== 2) return undefined;
  return { appserviceId: parts[0] as string, networkId: parts[1] as string };
};
