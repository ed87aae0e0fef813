/**
 * To-device inbox (client-server-api § Send-to-Device messaging). A message stays queued until the
 * device's next sync acknowledges it by its `since` token, then it is deleted: delivered once.
 */
import type { JsonObject, SqlDatabase, ToDeviceMessage, ToDeviceStore } from '../../domain/app/userData/index.ts';
import { currentPosition, writeToStream } from './streams.ts';

interface Row {
  sender: string;
  type: string;
  content: JsonObject;
  stream_pos: number;
}

export const createSqlToDeviceStore = (db: SqlDatabase): ToDeviceStore => ({
  async send(sender, txnId, type, deliveries) {
    const used = async (): Promise<{ duplicate: true; position: number } | undefined> => {
      const { rows } = await db.query<{ stream_pos: number }>(
        'SELECT stream_pos FROM to_device_txns WHERE user_id = $1 AND device_id = $2 AND txn_id = $3',
        [sender.userId, sender.deviceId, txnId],
      );
      return rows[0] === undefined ? undefined : { duplicate: true, position: Number(rows[0].stream_pos) };
    };
    const earlier = await used();
    if (earlier !== undefined) return earlier;
    try {
      if (deliveries.length === 0) {
        const { rows } = await db.query<{ stream_pos: number }>(
          `INSERT INTO to_device_txns (user_id, device_id, txn_id, stream_pos)
           VALUES ($1, $2, $3, COALESCE((SELECT position FROM stream_positions WHERE stream = 'to_device'), 0)) RETURNING stream_pos`,
          [sender.userId, sender.deviceId, txnId],
        );
        return { duplicate: false, position: Number(rows[0]!.stream_pos) };
      }
      const { position } = await writeToStream(db, 'to_device', (positions) => [
        {
          text: `INSERT INTO to_device_inbox (user_id, device_id, stream_pos, sender, type, content)
                 SELECT d.value->>'userId', d.value->>'deviceId', ${positions.next}, $2, $3, d.value->'content'
                 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS d(value, n) ORDER BY d.n`,
          values: [JSON.stringify(deliveries.map(({ userId, deviceId, content }) => ({ userId, deviceId, content }))), sender.userId, type],
        },
        // The transaction id's primary key turns a concurrent retry of this send into a failure here.
        {
          text: `INSERT INTO to_device_txns (user_id, device_id, txn_id, stream_pos) VALUES ($1, $2, $3, ${positions.last})`,
          values: [sender.userId, sender.deviceId, txnId],
        },
      ]);
      return { duplicate: false, position };
    } catch (error) {
      // A retry of this transaction id committed first: answer as its duplicate.
      const retried = (error as { code?: unknown }).code === '23505' ? await used() : undefined;
      if (retried !== undefined) return retried;
      throw error;
    }
  },

  currentPosition: () => currentPosition(db, 'to_device'),

  async acknowledge(userId, deviceId, upTo) {
    await db.query('DELETE FROM to_device_inbox WHERE user_id = $1 AND device_id = $2 AND stream_pos <= $3', [userId, deviceId, upTo]);
  },

  async messagesFor(userId, deviceId, since, upTo, limit) {
    const { rows } = await db.query<Row>(
      `SELECT sender, type, content, stream_pos FROM to_device_inbox
       WHERE user_id = $1 AND device_id = $2 AND stream_pos > $3 AND stream_pos <= $4
       ORDER BY stream_pos LIMIT $5`,
      [userId, deviceId, since, upTo, limit],
    );
    return rows.map((row): ToDeviceMessage => ({
      sender: row.sender, type: row.type, content: row.content, position: Number(row.stream_pos),
    }));
  },

  async deleteDevice(userId, deviceId) {
    await db.transaction(async (tx) => {
      await tx.query('DELETE FROM to_device_inbox WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
      await tx.query('DELETE FROM to_device_txns WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
    });
  },
});
