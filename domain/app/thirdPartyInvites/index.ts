/** Invites by third-party identifier, through identity servers. */
export {
  inviteByThirdPartyId, onThirdPartyIdBound, thirdPartyInviteOf, type ThirdPartyInviteRequest, type ThirdPartyInvitesContext,
} from './thirdPartyInvites.ts';
