/** Invites by third-party identifier, through identity servers. */
export {
  ExchangeFailed, exchangeThirdPartyInvite, inviteByThirdPartyId, inviteForThirdPartySignedJoin, onThirdPartyIdBound, thirdPartyInviteOf, type ThirdPartyInviteRequest, type ThirdPartyInvitesContext,
} from './thirdPartyInvites.ts';
