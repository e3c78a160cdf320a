export { computeProvenance } from './provenance';
export { provenanceRoute } from './route';
