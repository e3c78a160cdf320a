export * from './server';
export * from './api';
export * from './clients';
export * from './wait';
export * from './process';
export * from './collab';
export * from './redis';
export * from './deployment';
