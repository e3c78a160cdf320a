// The AI collaborator: the one entry point (server/src/main.ts uses createAiCollaborator; tests
// and benchmarks createAgentExtension with an engine of their own).
export { createAgentExtension, createAiCollaborator, workerEngine, AgentExtension, type AgentOptions, type EngineLoader } from './extension';
export { AgentGateway } from './gateway';
export { RoomAgent, type Actor, type AgentLimits } from './room-agent';
export { Admission, canEdit } from './admission';
export { AutoMode, autoModeArmed, autoOfferDue, type AutoModeHost } from './auto-mode';
export { AgentRecords, toProposalRecord } from './records';
export { ProposalService, DEFAULT_GENERATION, type GenerationParams } from './proposal-service';
export { PromptBuilder, type PromptParts, type PromptOptions } from './prompt';
export { Moderation, ModeratedStream, DEFAULT_BLOCKLIST } from './moderation';
export { RateLimiter } from './rate-limit';
export { AgentPresence } from './presence';
export { AgentWriter } from './writer';
export { parseAnchor, resolveAnchor, insertAiText, linearizeStory, endOfStoryAnchor, type ResolvedAnchor } from './anchor';
export { AgentError } from './errors';
