/**
 * The README.txt that goes on every volume: what the disc is, and how to restore it with nothing but
 * sh, tar, find, unzip (and cat for split files). The restore script in it is run verbatim by the
 * by-hand tests, so what the README says is what is tested.
 */

export const SCRIPT_BEGIN = '#--- begin restore script';
export const SCRIPT_END = '#--- end restore script';

/**
 * POSIX sh. Steps: (1) untar the volume; (2) expand every nested `.xtar`, outermost first, removing
 * each before tar reads it from stdin (so a folder named `.xtar` can take its place); (3) move every
 * blob aside under a fresh name, remembering its folder, then unzip each back into its folder — once
 * all blobs are out of the way no unzip can overwrite a blob that is still to be unzipped, whatever
 * the names (`x` beside `x.zip`, shortened long names).
 */
export const RESTORE_SCRIPT = `${SCRIPT_BEGIN}
# Usage: sh restore.sh DEST VOLUME1.xtar [VOLUME2.xtar ...]    (DEST should be empty or new)
set -eu
export LC_ALL=C
dest=$1; shift
mkdir -p "$dest"
for a do
  case $a in /*) ;; *) a=$(pwd)/$a ;; esac
  # 1. The volume's own tar.
  (cd "$dest" && tar -xf "$a")
  # 2. Every folder's contents are a hidden tar named .xtar inside it: expand them until none is left.
  while [ -n "$(find "$dest" -type f -name .xtar -print -quit)" ]; do
    find "$dest" -type f -name .xtar -exec sh -c '
      for f do
        { rm -f "$f" && tar -xf - -C "\${f%/.xtar}"; } < "$f" || exit 1
      done' sh {} +
  done
done
cd "$dest"
# 3. A file larger than a volume was split into NAME.zip.001, .002, ... on consecutive volumes: join them.
find . -type f -name '*.zip.001' -exec sh -c '
  for first do
    base=\${first%.001}; i=1
    while f=$(printf "%s.%03d" "$base" "$i") && [ -f "$f" ]; do cat "$f" >> "$base" && rm -f "$f"; i=$((i + 1)); done
  done' sh {} +
# 4. Every file is a zip holding it. Move them all aside first, then unzip each into its folder.
work=$(mktemp -d ./.xtar-unzip.XXXXXX)
find . -path "$work" -prune -o -type f -name '*.zip' -exec sh -c '
  work=$1; shift
  for z do
    n=$(mktemp "$work/z.XXXXXX") && mv -f "$z" "$n" && printf "%s\\0%s\\0" "$n" "\${z%/*}" >> "$work/list" || exit 1
  done' sh "$work" {} +
if [ -f "$work/list" ]; then
  xargs -0 -n 1000 sh -c '
    while [ $# -gt 1 ]; do unzip -qq -o -UU -^ "$1" -d "$2" && rm -f "$1" || exit 1; shift 2; done' sh < "$work/list"
  rm -f "$work/list"
fi
rmdir "$work"
${SCRIPT_END}`;

export interface ReadmeInfo {
  backupId: string;
  volume: number;
  volumes: number | null;
  root: string;
  archive: string;
  created: string;
  files: number;
  bytes: number;
  /** Default 'full'. */
  kind?: 'full' | 'incremental' | 'differential' | 'cyclic';
  base?: string | null;
}

/** For a backup that builds on another: what it holds, and how to restore the whole state. */
function chainNote(i: ReadmeInfo): string {
  if (i.kind === undefined || i.kind === 'full') return '';
  const what = i.kind === 'cyclic' ? 'the files that changed since, and a share of the others stored again' : 'only the files that changed since';
  return `
This is ${i.kind === 'incremental' ? 'an' : 'a'} ${i.kind} backup: it was compared with backup ${i.base ?? '?'} and holds
${what}. structure.jsonl is still the whole tree as it was; in catalog.jsonl,
a line with "backup" names the earlier backup whose volumes hold that file's bytes (and "as", the
path it was stored under there).

To restore this backup's whole tree:
    xtar unpack THE-SET-FOLDER --dest DEST --backup ${i.backupId}
        (or all the volumes it needs, wherever they are; xtar names the ones it needs first)
By hand: restore the full backup the chain starts from and each later backup up to this one, in
order, oldest first, into the same folder (the script below takes all their .xtar files in that
order), then run
    xtar expand-structure THIS-FOLDER --dest DEST --prune
which gives renamed files their new names and removes the files deleted since.
`;
}

export function volumeReadme(i: ReadmeInfo): string {
  const of = i.volumes === null ? '' : ` of ${i.volumes}`;
  return `xtar backup ${i.backupId}, volume ${i.volume}${of}
==========================================================

Made by xtar on ${i.created} from the folder "${i.root}".
This volume holds ${i.files} files (${i.bytes} bytes before compression).
${chainNote(i)}
What is here
------------
${i.archive}        the archive (a POSIX tar; see below)
volume.json         which backup and which volume of how many
structure.jsonl     every folder, file, link, FIFO and device with its mode, owner and times
catalog.jsonl       every file with its size, sha256 and where its bytes lie in the archive
README.txt          this file

Restoring with xtar
-------------------
    xtar unpack THIS-FOLDER --dest DEST                 (this volume alone: its whole files)
    xtar unpack VOLUME-1 VOLUME-2 ... --dest DEST      (several volumes, wherever they were copied)

Restoring by hand (sh, tar, find, unzip — nothing else)
-------------------------------------------------------
Each file was compressed on its own into a one-file zip named NAME.zip (a very long name is
shortened to PREFIX~HASH.zip; the zip still holds the full name). Each folder's contents were
put into a tar named .xtar inside that folder, nested all the way down. To undo it:

  1. tar -xf ${i.archive}              (gives ${i.root}/.xtar, or ${i.root}.zip for a single file)
  2. repeatedly: move each .xtar out of the way and untar it into its own folder
     (with several volumes: steps 1 and 2 for each volume, into the same folder)
  3. a file larger than a volume was cut into NAME.zip.001, NAME.zip.002, ... on consecutive
     volumes: join them in order with  cat NAME.zip.001 NAME.zip.002 ... > NAME.zip
  4. move every *.zip aside, then unzip each one into the folder it came from

Step 4 moves the zips aside first because names can collide: a file "x" beside a file "x.zip"
gives "x.zip" and "x.zip.zip", and unzipping the second would overwrite the first if it were
still there. The script below does all of it and is what xtar's tests run. Save the lines
between the markers as restore.sh and run:

    sh restore.sh DEST /path/to/${i.archive}                 (this volume alone)
    sh restore.sh DEST /path/to/*-vol*/*.xtar               (all volumes, in order)

${RESTORE_SCRIPT}

The outer tar also holds gzip-compressed copies of the structure record and the catalog
(${i.root}.xtar-structure.jsonl.gz and ${i.root}.xtar-catalog.jsonl.gz), for when the plain
files beside the archive are lost.

Repairing a damaged volume with par2
------------------------------------
If this folder holds .par2 files (xtar pack --par2), they are recovery data for every other file
in it. Copy the folder off the disc (a read error on the disc: copy what reads, e.g. with
ddrescue), then, in the copy:

    par2 repair ${i.archive.replace(/\.xtar$/, '')}.par2        (or: xtar repair THIS-FOLDER)

Bringing back folders, links, permissions, owners and times
-----------------------------------------------------------
Plain tar and unzip restore the files' bytes only. Empty folders come back too, but not symlinks,
hard links, FIFOs, devices, modes, owners or exact times. With xtar:

    xtar expand-structure THIS-FOLDER/structure.jsonl --dest DEST

Without xtar, structure.jsonl is plain text, one JSON object per line: "path", "type"
(dir, file, symlink, hardlink, fifo, char, block), "mode" (octal), "uid"/"gid" and "user"/"group",
"mtime" (seconds.nanoseconds since 1970), "target" for links.
`;
}
