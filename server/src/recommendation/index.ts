export { RecommendationService, passageId, type LibraryPassage } from './service';
export { CRAFT_MOVES, craftMove, type CraftMove } from './catalogue';
export { CachedEmbedder, FallbackEmbedder, HashingEmbedder, dot, type Embedder } from './embedder';
export { PreferenceModel, featureVector, labelOf, ndcgAt, orderByScore } from './preference';
export { styleFeatures, FEATURE_NAMES } from './features';
export { mmr } from './mmr';
