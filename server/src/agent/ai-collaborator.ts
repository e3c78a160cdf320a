import type { Config } from '../config';
import type { Extension, ServerContext } from '../ports';
import { WorkerInferenceEngine } from '../inference';
import { createAgentExtension, type AgentExtension } from './extension';

/**
 * The AI collaborator as the server runs it: loads the models when the server starts (so their
 * metrics land on the server's registry), on a worker thread so forward passes never stall the
 * event loop that carries everyone's typing, then runs the agent on that engine. With
 * ENSEMBLE_DISABLE_AI the channel still runs and answers every AI request `ai_disabled`.
 */
export function createAiCollaborator(config: Config): Extension {
  let engine: WorkerInferenceEngine | null = null;
  let agent: AgentExtension | null = null;
  return {
    name: 'ai-collaborator',
    async start(ctx: ServerContext) {
      if (!config.ENSEMBLE_DISABLE_AI) {
        engine = await WorkerInferenceEngine.load({
          modelsDir: config.ENSEMBLE_MODELS_DIR,
          device: config.ENSEMBLE_DEVICE,
          maxBatch: config.ENSEMBLE_MAX_BATCH,
          maxQueue: config.ENSEMBLE_MAX_QUEUE,
          logger: ctx.logger,
          metrics: ctx.metricsRegistry,
        });
      }
      agent = createAgentExtension({ engine });
      await agent.start(ctx);
    },
    async stop() {
      await agent?.stop?.();
      await engine?.close();
    },
  };
}
