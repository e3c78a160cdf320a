export { RoomService, toRoom } from './room-service';
export { roomRoutes } from './routes';
export { newId, newJoinCode } from './ids';
