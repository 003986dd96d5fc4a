import { ConnectionType } from '../../common/pagination';
import { Sample } from './sample.entity';

/** A page of samples: what `samples` returns, and other modules' fields that list samples. */
export const SampleConnection = ConnectionType(Sample);
