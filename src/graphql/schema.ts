import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './apiKey.js';
import './delivery.js';
import './endpoint.js';
import './event.js';
import './replay.js';
import './stats.js';
import './subscription.js';

export const schema = lexicographicSortSchema(builder.toSchema());
