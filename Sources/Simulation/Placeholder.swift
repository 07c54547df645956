import Reads
