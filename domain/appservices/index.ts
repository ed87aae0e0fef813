export {
  checkRegistrations, compileNamespaceRegex, parseRegistration, RegistrationProblem,
  type AppserviceRegistration, type Namespace, type Namespaces,
} from './registration.ts';
export {
  bridgesOfProtocol, exclusiveAliasOwner, exclusiveRoomOwner, exclusiveUserOwner, isInterestedInAlias, isInterestedInEvent,
  isInterestedInRoom, isInterestedInRoomId, isInterestedInUser, registrationByToken, type EventFacts, type RoomFacts,
} from './interest.ts';
export { parseThirdPartyInstanceId, thirdPartyInstanceId, type ThirdPartyInstance } from './instanceId.ts';
