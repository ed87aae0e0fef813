/**
 * To-device inbox (client-server-api § Send-to-Device messaging). A message stays queued until the
 * device's next sync acknowledges it by its `since` token, then it is deleted: delivered once.
 */
import type { JsonObject, SqlDatabase, ToDeviceMessage, ToDeviceStore } from '../../domain/app/userData/index.ts';
import { currentPosition, lockStream, nextPosition, recordPosition } from './streams.ts';

interface Row {
  sender: string;
  type: string;
  content: JsonObject;
  stream_pos: number;
}

export const createSqlToDeviceStore = (db: SqlDatabase): ToDeviceStore => ({
  send(sender, txnId, type, deliveries) {
    return db.transaction(async (tx) => {
      await lockStream(tx, 'to_device');
      // Under the stream lock, so two retries of one transaction cannot both pass this check.
      const seen = await tx.query<{ stream_pos: number }>(
        'SELECT stream_pos FROM to_device_txns WHERE user_id = $1 AND device_id = $2 AND txn_id = $3',
        [sender.userId, sender.deviceId, txnId],
      );
      if (seen.rows[0] !== undefined) return { duplicate: true, position: Number(seen.rows[0].stream_pos) };
      let position = await currentPosition(tx, 'to_device');
      for (const delivery of deliveries) {
        position = await nextPosition(tx, 'to_device');
        await tx.query(
          `INSERT INTO to_device_inbox (user_id, device_id, stream_pos, sender, type, content)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
          [delivery.userId, delivery.deviceId, position, sender.userId, type, JSON.stringify(delivery.content)],
        );
      }
      await tx.query(
        'INSERT INTO to_device_txns (user_id, device_id, txn_id, stream_pos) VALUES ($1, $2, $3, $4)',
        [sender.userId, sender.deviceId, txnId, position],
      );
      if (deliveries.length > 0) await recordPosition(tx, 'to_device', position);
      return { duplicate: false, position };
    });
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
