# Shared by the numbered notebooks (sourced, not run): a temporary work dir with a key and the
# Data/sample reads ingested into $WORK/s.anpr. Sets ANPR, WORK; removes WORK on exit.
ANPR=${ANPR:-.build/release/anpr}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
"$ANPR" keygen --out "$WORK/key" > /dev/null  # 32 random bytes, 0600: a key others can read is refused
"$ANPR" ingest Data/sample/reads.csv.gz --cameras Data/sample/cameras.csv --vehicles Data/sample/vehicles.csv \
  --store "$WORK/s.anpr" --key-file "$WORK/key" > /dev/null
