// Every value and verdict of tests/vectors/crypto-modp-4096.json.
import { cryptoSuite } from '../testing/crypto-suite.js';

cryptoSuite('modp-4096');
