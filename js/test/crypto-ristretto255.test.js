// Every value and verdict of tests/vectors/crypto-ristretto255.json.
import { cryptoSuite } from '../testing/crypto-suite.js';

cryptoSuite('ristretto255');
