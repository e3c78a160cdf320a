export * from './document';
export * from './rooms';
export * from './collab';
export * from './sync';
export * from './names';
export * from './anchor';
export * from './provenance-rows';
export * from './exports';
