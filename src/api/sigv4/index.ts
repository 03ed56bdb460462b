export * from './sigv4.js';
export * from './sigv2.js';
