export * from './model/types';
export * from './translate/types';
