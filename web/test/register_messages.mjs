// `node --import ./test/register_messages.mjs`: the compiled catalogs for every module of the run
// (see messages_hooks.mjs).
import { register } from 'node:module';

register('./messages_hooks.mjs', import.meta.url);
