/** The ThreePidStore port in memory, for use-case tests (the SQL adapter runs in the e2e tests). */
import type {
  AccountThreePid, IdentityServerBinding, ThreePidStore, ThreePidValidationSession,
} from '../../domain/ports/index.ts';

export const createMemoryThreePidStore = (): ThreePidStore & { readonly sessions: Map<string, ThreePidValidationSession> } => {
  const sessions = new Map<string, ThreePidValidationSession>();
  const uia = new Map<string, { medium: 'email' | 'msisdn'; address: string; validatedTs: number }>();
  const threePids: AccountThreePid[] = [];
  const bindings: IdentityServerBinding[] = [];
  const sameBinding = (a: IdentityServerBinding, b: IdentityServerBinding) =>
    a.userId === b.userId && a.medium === b.medium && a.address === b.address && a.idServer === b.idServer;
  return {
    sessions,
    findValidationSession: async (medium, address, clientSecret) =>
      [...sessions.values()].find((s) => s.medium === medium && s.address === address && s.clientSecret === clientSecret),
    getValidationSession: async (sessionId) => sessions.get(sessionId),
    async upsertValidationSession(session) {
      const existing = sessions.get(session.sessionId);
      sessions.set(session.sessionId, existing === undefined ? session : {
        ...existing, lastSendAttempt: session.lastSendAttempt, tokenHash: session.tokenHash, tokenExpiresTs: session.tokenExpiresTs,
        ...(session.nextLink === undefined ? {} : { nextLink: session.nextLink }),
      });
    },
    async deleteExpiredValidationSessions(before) {
      for (const [id, session] of sessions) if (session.tokenExpiresTs < before) sessions.delete(id);
    },
    async markValidated(sessionId, now) {
      const session = sessions.get(sessionId);
      if (session !== undefined && session.validatedTs === undefined) sessions.set(sessionId, { ...session, validatedTs: now });
    },
    async recordUiaThreePid(uiaSessionId, medium, address, validatedTs) {
      uia.set(uiaSessionId, { medium, address, validatedTs });
    },
    uiaThreePid: async (uiaSessionId) => uia.get(uiaSessionId),
    listThreePids: async (userId) => threePids.filter((t) => t.userId === userId),
    ownerOf: async (medium, address) => threePids.find((t) => t.medium === medium && t.address === address)?.userId,
    async addThreePid(threePid) {
      if (threePids.some((t) => t.medium === threePid.medium && t.address === threePid.address)) return false;
      threePids.push(threePid);
      return true;
    },
    async deleteThreePid(userId, medium, address) {
      const index = threePids.findIndex((t) => t.userId === userId && t.medium === medium && t.address === address);
      if (index < 0) return false;
      threePids.splice(index, 1);
      return true;
    },
    async addBinding(binding) {
      if (!bindings.some((b) => sameBinding(b, binding))) bindings.push(binding);
    },
    bindings: async (userId, medium, address) => bindings.filter((b) => b.userId === userId && b.medium === medium && b.address === address),
    bindingsOf: async (userId) => bindings.filter((b) => b.userId === userId),
    async deleteBinding(binding) {
      const index = bindings.findIndex((b) => sameBinding(b, binding));
      if (index >= 0) bindings.splice(index, 1);
    },
  };
};
