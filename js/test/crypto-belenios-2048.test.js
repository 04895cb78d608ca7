// Every value and verdict of tests/vectors/crypto-belenios-2048.json.
import { cryptoSuite } from '../testing/crypto-suite.js';

cryptoSuite('belenios-2048');
