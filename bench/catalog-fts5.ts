import Database from 'better-sqlite3';
import type { ServableMetadata } from '../main/servable/metadata.js';
import { toCatalogDoc } from '../main/catalog/record.js';

/** The baseline: the same records in a SQLite FTS5 table (unicode61 tokenizer, bm25 ranking), as a plain SQL app would do it. */
export class Fts5Baseline {
  private readonly db: Database.Database;
  private readonly stmt;

  constructor(file: string, records: readonly ServableMetadata[]) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.exec(`CREATE VIRTUAL TABLE docs USING fts5(title, description, creators, domains, type, methods, input_types, output_types, tags, name, owner, year UNINDEXED, tokenize = 'unicode61');`);
    const insert = this.db.prepare('INSERT INTO docs (rowid, title, description, creators, domains, type, methods, input_types, output_types, tags, name, owner, year) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)');
    this.db.transaction(() => {
      records.forEach((md, i) => {
        const d = toCatalogDoc(md, { id: i + 1, local: false, latest: true });
        insert.run(i + 1, d.title, d.description, d.creators.join(' | '), d.domains.join(' | '), d.type, d.methods.join(' '), d.inputTypes.join(' '), d.outputTypes.join(' '), d.tags.join(' '), d.name, d.owner, d.year);
      });
    })();
    this.stmt = {
      top: this.db.prepare<[string], { rowid: number }>('SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 3, 1, 2, 2, 2, 1.5, 1, 1, 1.5) LIMIT 20'),
      count: this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM docs WHERE docs MATCH ?'),
      rangeTop: this.db.prepare<[string, number, number], { rowid: number }>('SELECT rowid FROM docs WHERE docs MATCH ? AND year BETWEEN ? AND ? ORDER BY bm25(docs) LIMIT 20'),
    };
  }

  /** Top 20 and the total count for an FTS5 MATCH expression (what a results page needs). */
  search(match: string): number {
    this.stmt.top.all(match);
    return this.stmt.count.get(match)?.n ?? 0;
  }

  /** Top 20 of a MATCH expression within a year range. */
  searchYears(match: string, from: number, to: number): number {
    return this.stmt.rangeTop.all(match, from, to).length;
  }

  /** Close the database. */
  close(): void {
    this.db.close();
  }
}
